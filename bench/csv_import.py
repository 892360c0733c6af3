"""Benchmark: CSV orders of 10,000 and 1,000,000 rows through the whole stack, with the keyword tagger.

For each size it writes a CSV of developer log lines (a mix of technologies, some prose,
some German, about 1 % of rows with problems that must be rejected) to a temporary file,
starts a fresh `manage.py runstack --workers N` in a temporary var/ (SQLite and an
embedded Redis, or DATABASE_URL / REDIS_URL), POSTs the file as a `text/csv` body to
/async/tagging/order/, long-polls the order until 201 and reads the batch. It prints the
time of the POST alone and from the POST to the 201, rows per second, the parts the
order was split into, and the peak resident memory (VmHWM, sampled every 0.1 s from
/proc) of the RQ worker processes (with what they fork: RQ's scheduler, and the work horses
of a forking worker class)
and of the web server.

Run: .venv/bin/python bench/csv_import.py [--rows 10000 1000000] [--workers 1]
"""
from __future__ import annotations

import argparse
import csv
import os
import random
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from machine import describe  # noqa: E402
from stack import MIB, MemorySampler, Stack  # noqa: E402

KEYWORD_TAGGER = "tagging.taggers.keywords.KeywordTagger"

TECH = [
    "Python", "Django", "postgres", "PostgreSQL", "k8s", "Kubernetes", "Docker", "Redis", "React",
    "TypeScript", "Node.js", "Kafka", "Terraform", "AWS Lambda", "GitHub Actions", "pytest", "Celery",
    "nginx", "GraphQL", "MySQL", "Elasticsearch", "Vue", "Java", "Spring Boot", "Flask", "FastAPI",
    "SQLAlchemy", "RabbitMQ", "gRPC", "Prometheus", "Grafana", "Ansible", "Jenkins", "webpack",
    "Next.js", "pandas", "NumPy", "PyTorch", "Rust", "Go", "Swift", "Kotlin", "S3", "Helm", "Vite",
]
THINGS = [
    "cache", "migration", "tests", "build", "pipeline", "API", "config", "logging", "auth flow",
    "workers", "deploy", "schema", "queries", "dashboard", "client", "service",
]
VERBS = ["Fixed", "Refactored", "Debugged", "Reviewed", "Sped up", "Cleaned up", "Set up", "Tuned"]
NAMES = ["Ana", "Ben", "Chen", "Dana", "Emre", "Fatou", "Goran", "Hiro"]
TEMPLATES = [
    "{verb} the {tech} {thing}",
    "{tech} {thing} broke after deploy",
    "Moved the {thing} from {tech} to {tech2}",
    "Code review: {tech} {thing}",
    "Paired with {name} on {tech} {thing}",
    "Upgraded {tech} and {tech2}",
    "Flaky {tech} tests in CI, retried",
    "{verb} {thing} in {tech}, then {tech2}",
    "Fehler im {tech} {thing} behoben",
    "Standup, then 1:1 with {name}",
    "Sprint planning and backlog grooming",
    "Spring cleaning of the team wiki",
    "Wrote docs for the {thing}",
    "Investigated the slow {tech} {thing} with {name}, an N+1 query",
    "{tech} {thing} outage at night, wrote the postmortem",
    "Prototyped the new {thing} with {tech} and {tech2} behind a flag",
]


def entries(rng: random.Random):
    """Yield an endless stream of plausible developer log entries, some with commas or line breaks."""
    while True:
        text = rng.choice(TEMPLATES).format(
            verb=rng.choice(VERBS), tech=rng.choice(TECH), tech2=rng.choice(TECH),
            thing=rng.choice(THINGS), name=rng.choice(NAMES),
        )
        if rng.random() < 0.01:
            text += "\nfollow-up tomorrow"  # a quoted entry over two lines
        yield text


def write_csv(path: Path, rows: int, *, problems: bool = True, seed: int = 0) -> dict[str, int]:
    """Write `rows` data rows of `timestamp,entry` to `path`, streamed; return how many of each kind.

    With `problems`, about 1 % of the rows cannot be used and must come back as rejected
    rows: an empty entry, a row without an entry field, a timestamp that is not ISO 8601,
    a NUL character, and (1 in 100,000) an entry over the 10,000-character limit. One row
    in ten has a timestamp; the others take the order's.
    """
    rng = random.Random(seed)
    stream = entries(rng)
    bad = 0
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["timestamp", "entry"])
        for index in range(rows):
            roll = rng.random()
            stamp = f"2025-{1 + index % 12:02d}-{1 + index % 28:02d}T09:{index % 60:02d}" if roll < 0.1 else ""
            if not problems:
                writer.writerow([stamp, next(stream)])
            elif index % 100_000 == 99_999:
                bad += 1
                writer.writerow([stamp, "x" * 10_001])  # over the entry length limit
            elif roll >= 0.99:
                bad += 1
                kind = (index // 100) % 4
                if kind == 0:
                    writer.writerow([stamp, " "])  # an empty entry
                elif kind == 1:
                    writer.writerow(["2025-03-14T09:30"])  # no entry field at all
                elif kind == 2:
                    writer.writerow(["yesterday", next(stream)])  # not an ISO 8601 timestamp
                else:
                    writer.writerow([stamp, next(stream) + "\x00"])  # a NUL character
            else:
                writer.writerow([stamp, next(stream)])
    return {"rows": rows, "bad": bad, "bytes": path.stat().st_size}


def import_csv(stack: Stack, path: Path, rows: int, timeout: float) -> dict:
    """Order the tagging of the CSV at `path` and wait for its 201; return what was measured."""
    with MemorySampler(stack) as memory:
        started = time.perf_counter()
        placed = stack.post_csv(path)
        posted = time.perf_counter()
        done = stack.wait_for_order(placed.headers["Location"], timeout)
        finished = time.perf_counter()
    if done.status_code != 201:
        raise SystemExit(f"the order did not complete: {done.status_code} {done.text[:2000]}\n{stack.log_tail()}")
    batch = stack.session.get(done.headers["Location"], timeout=60).json()
    facts = stack.order_facts(placed.json()["id"])
    return {
        "rows": rows, "post": posted - started, "wall": finished - started, "batch": batch, "facts": facts,
        "memory": memory.peaks,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, nargs="+", default=[10_000, 1_000_000], help="sizes to import")
    parser.add_argument("--workers", type=int, default=1, help="RQ workers in the stack")
    parser.add_argument("--timeout", type=float, default=1500, help="seconds to wait for one order")
    args = parser.parse_args()

    print(f"machine: {describe()}")
    print(f"stack: manage.py runstack --workers {args.workers}, keyword tagger, "
          f"{'DATABASE_URL' if os.environ.get('DATABASE_URL') else 'SQLite'}, "
          f"{'REDIS_URL' if os.environ.get('REDIS_URL') else 'embedded redis-server'}", flush=True)
    results = []
    with tempfile.TemporaryDirectory(prefix="asyncrest-bench-csv-") as tmp:
        for rows in args.rows:
            path = Path(tmp) / f"logs-{rows}.csv"
            written = write_csv(path, rows)
            with Stack(workers=args.workers, env={"TAGGING_BACKEND": KEYWORD_TAGGER}) as stack:
                if written["bytes"] > stack.max_upload_size:
                    raise SystemExit(f"{rows:,} rows make {written['bytes']:,} bytes, over the upload limit of "
                                     f"{stack.max_upload_size:,} (MAX_UPLOAD_SIZE)")
                result = import_csv(stack, path, rows, args.timeout)
                result["worker_class"] = stack.worker_class
            path.unlink()
            result["file"] = written
            results.append(result)
            report(result)

    print("\nside by side (peak RSS: VmHWM; worker = the rqworker processes and any work horses)")
    print(f"{'rows':>10} {'MiB':>6} {'POST s':>7} {'wall s':>8} {'rows/s':>8} {'parts':>6} "
          f"{'worker before':>14} {'worker peak':>12} {'web peak':>9}")
    for r in results:
        m = r["memory"]
        worker = max(m["worker"].kib, m["horse"].kib)
        print(f"{r['rows']:>10,} {r['file']['bytes'] / MIB:>6.1f} {r['post']:>7.2f} {r['wall']:>8.1f} "
              f"{r['rows'] / r['wall']:>8,.0f} {r['facts']['parts']:>6} {m['worker'].before:>14} "
              f"{worker / 1024:>8,.0f} MiB {str(m['web']):>9}")


def report(result: dict) -> None:
    """Print one size's figures."""
    batch, facts, memory, file = result["batch"], result["facts"], result["memory"], result["file"]
    stored_at = facts["parts_created"] or facts["finished"]
    print(f"\n{result['rows']:,} rows ({file['bytes'] / MIB:.1f} MiB, {file['bad']:,} made unusable on purpose)")
    print(f"  POST (upload, checks, stored): {result['post']:.2f} s")
    print(f"  POST to 201: {result['wall']:.1f} s wall time -> {result['rows'] / result['wall']:,.0f} rows/s")
    print(f"  phases: queued {facts['started'] - facts['created']:.2f} s, reading and storing rows "
          f"{stored_at - facts['started']:.1f} s, tagging in {facts['parts']} parts "
          f"{(facts['parts_finished'] or stored_at) - stored_at:.1f} s (each part from its claim to its end: "
          f"{facts['parts_busy']:.1f} s in all), finishing {facts['finished'] - (facts['parts_finished'] or stored_at):.2f} s")
    print(f"  batch: {batch['rows']:,} rows, {batch['tagged']:,} tagged, {batch['failed']:,} failed, "
          f"{batch['rejected']:,} rejected; order attempts {facts['attempts']}, "
          f"most attempts of a part {facts['part_attempts']}")
    horses = (
        f"; its forked processes (RQ's scheduler, and a forking worker class's work horses) {memory['horse']} "
        f"(the largest of {memory['horse'].processes})"
        if memory["horse"].processes else ""
    )
    print(f"  peak RSS (VmHWM): rqworker ({result['worker_class']}) {memory['worker']} "
          f"({memory['worker'].before} before the order){horses}; "
          f"web (gunicorn, during the POST and polls) {memory['web']} ({memory['web'].before} before)", flush=True)


if __name__ == "__main__":
    main()
