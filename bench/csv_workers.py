"""Benchmark: a 2,000-row CSV order tagged by the LLM tagger with 1 worker and with 2, against a 200 ms server.

Starts the loopback chat-completions server (tests/llm_server.py) in its own process at
`--latency` seconds per request, then for 1 and for 2 workers a fresh
`manage.py runstack --workers N` in a temporary var/ with
`TAGGING_BACKEND=tagging.taggers.openai.OpenAITagger`, `OPENAI_API_KEY=bench` and
`OPENAI_BASE_URL` pointing at that server. It POSTs the CSV (`text/csv`) `--repeat` times
in each stack, waiting for each order's 201, and prints the times and the speed-up of the
medians. The order is stored by one job and then tagged in parts of 1,000 rows
(tagging/jobs.py `PART_SIZE`), so a 2,000-row order has two parts that two workers can
take side by side.

Run: .venv/bin/python bench/csv_workers.py [--rows 2000] [--latency 0.2] [--repeat 3] [--concurrency N]
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from csv_import import write_csv  # noqa: E402
from llm_tagging import loopback_server  # noqa: E402
from machine import describe  # noqa: E402
from stack import Stack  # noqa: E402

OPENAI_TAGGER = "tagging.taggers.openai.OpenAITagger"


def run(workers: int, path: Path, rows: int, args) -> dict:
    """Order the tagging of `path` `args.repeat` times in a stack of `workers` workers; return the times."""
    with loopback_server(args.latency) as server:
        env = {"TAGGING_BACKEND": OPENAI_TAGGER, "OPENAI_API_KEY": "bench", "OPENAI_BASE_URL": server.url}
        if args.concurrency:
            env["TAGGING_MAX_CONCURRENCY"] = str(args.concurrency)
        walls, facts = [], []
        with Stack(workers=workers, env=env) as stack:
            for _ in range(args.repeat):
                started = time.perf_counter()
                placed = stack.post_csv(path)
                done = stack.wait_for_order(placed.headers["Location"], timeout=300)
                walls.append(time.perf_counter() - started)
                if done.status_code != 201:
                    raise SystemExit(f"the order did not complete: {done.status_code} {done.text[:2000]}")
                batch = stack.session.get(done.headers["Location"], timeout=60).json()
                if batch["tagged"] != rows:
                    raise SystemExit(f"expected {rows} tagged entries, the batch says {batch}")
                facts.append(stack.order_facts(placed.json()["id"]))
        stats = server.stats()
    return {"workers": workers, "walls": walls, "facts": facts, "stats": stats}


def describe_run(result: dict, repeat: int) -> str:
    walls = ", ".join(f"{wall:.2f}" for wall in result["walls"])
    last = result["facts"][-1]
    store = last["parts_created"] - last["started"]
    tagging = last["parts_finished"] - last["parts_created"]
    return (
        f"{result['workers']} worker{'s' if result['workers'] > 1 else ''}: POST to 201 in {walls} s "
        f"(median {statistics.median(result['walls']):.2f} s); last order: storing {store:.2f} s, "
        f"{last['parts']} parts tagged in {tagging:.2f} s (each from its claim to its end: "
        f"{last['parts_busy']:.2f} s in all); server: {result['stats']['requests'] // repeat} requests an order, "
        f"peak {result['stats']['peak_in_flight']} in flight"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=2000)
    parser.add_argument("--latency", type=float, default=0.2, help="seconds the server takes per request")
    parser.add_argument("--repeat", type=int, default=3, help="orders per stack")
    parser.add_argument("--concurrency", type=int, help="requests in flight per part (default: the tagger's, 16)")
    args = parser.parse_args()

    print(f"machine: {describe()}")
    print(f"server: loopback, {args.latency * 1000:.0f} ms per request; stack: manage.py runstack, OpenAITagger "
          f"({args.concurrency or 'its default of 16'} requests in flight per part), "
          f"{'DATABASE_URL' if os.environ.get('DATABASE_URL') else 'SQLite'}, "
          f"{'REDIS_URL' if os.environ.get('REDIS_URL') else 'embedded redis-server'}", flush=True)
    with tempfile.TemporaryDirectory(prefix="asyncrest-bench-workers-") as tmp:
        path = Path(tmp) / f"logs-{args.rows}.csv"
        write_csv(path, args.rows, problems=False)
        results = [run(workers, path, args.rows, args) for workers in (1, 2)]
    for result in results:
        print(describe_run(result, args.repeat))
    one, two = (statistics.median(result["walls"]) for result in results)
    print(f"{args.rows:,} rows, {results[0]['facts'][-1]['parts']} parts: 1 worker {one:.2f} s, "
          f"2 workers {two:.2f} s -> speed-up {one / two:.2f}x")


if __name__ == "__main__":
    main()
