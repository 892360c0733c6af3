"""Benchmark: the OpenAI tagger on a 2,000-entry CSV against a loopback server that takes 200 ms a request.

Starts its own chat-completions server on 127.0.0.1 (tests/llm_server.py, in a process of
its own, as a real server would be on its own machine), writes a CSV of
entries drawn from the labelled set, and tags it in one `tag()` call with at most
`--concurrency` requests in flight. The baseline, one request per entry sent one after
another, is measured on `--baseline` entries and scaled to the whole file.

Run: .venv/bin/python bench/llm_tagging.py [--entries 2000] [--latency 0.2] [--concurrency 32]
"""
from __future__ import annotations

import argparse
import csv
import json
import os
import random
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "demosite.settings")
os.environ.setdefault("DEBUG", "1")  # a local run: no SECRET_KEY needed


def write_csv(path: Path, count: int) -> None:
    """Write `count` entries drawn from the labelled set to a CSV with an `entry` column."""
    with open(ROOT / "tests/tagging/data/labelled_entries.csv", newline="", encoding="utf-8") as handle:
        pool = [row["entry"] for row in csv.DictReader(handle)]
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["entry"])
        writer.writerows([entry] for entry in random.Random(0).choices(pool, k=count))


class loopback_server:  # noqa: N801 - used like a function, as a context manager
    """Run tests/llm_server.py in its own process, as a real LLM server would be on its own machine."""

    def __init__(self, latency: float) -> None:
        self.latency = latency

    def __enter__(self) -> loopback_server:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "tests.llm_server", "--latency", str(self.latency)],
            cwd=ROOT, stdout=subprocess.PIPE, text=True,
        )
        self.url = self.process.stdout.readline().strip()
        if not self.url.startswith("http://"):
            self.process.kill()
            raise RuntimeError("the loopback LLM server did not start")
        return self

    def __exit__(self, *exc_info) -> None:
        self.process.terminate()
        self.process.wait(10)

    def stats(self) -> dict[str, int]:
        """Return the server's counts: requests, peak in flight, tokens."""
        with urllib.request.urlopen(self.url.removesuffix("/v1") + "/stats", timeout=5) as response:
            return json.load(response)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--entries", type=int, default=2000)
    parser.add_argument("--latency", type=float, default=0.2, help="seconds the server takes per request")
    parser.add_argument("--concurrency", type=int, default=32, help="requests in flight at most")
    parser.add_argument("--baseline", type=int, default=20, help="entries tagged one request at a time")
    args = parser.parse_args()

    import django

    django.setup()
    from machine import describe

    from tagging.taggers.openai import OpenAITagger

    with tempfile.TemporaryDirectory() as tmp, loopback_server(args.latency) as server:
        path = Path(tmp) / "entries.csv"
        write_csv(path, args.entries)
        with open(path, newline="", encoding="utf-8") as handle:
            entries = [row["entry"] for row in csv.DictReader(handle)]

        tagger = OpenAITagger(api_key="bench", base_url=server.url, max_concurrency=args.concurrency)
        started = time.perf_counter()
        results = tagger.tag(entries)
        wall = time.perf_counter() - started
        stats = server.stats()
        tags = sum(len(result.tags) for result in results)
        failed = sum(1 for result in results if result.error)

        one_by_one = OpenAITagger(api_key="bench", base_url=server.url, max_concurrency=1, max_entries_per_request=1)
        started = time.perf_counter()
        one_by_one.tag(entries[: args.baseline])
        per_entry = (time.perf_counter() - started) / args.baseline
        assert server.stats()["requests"] - stats["requests"] == args.baseline
    baseline = per_entry * len(entries)

    print(f"machine: {describe()}")
    print(f"server: loopback, {args.latency * 1000:.0f} ms per request; tagger defaults "
          f"({tagger.max_entries_per_request} entries or {tagger.max_tokens_per_request} tokens per request)")
    print(f"tagged {len(entries):,} entries from a CSV ({tags:,} tags, {failed} failed) in {wall:.2f} s wall time")
    print(f"requests sent: {stats['requests']} (cap {args.concurrency} in flight, peak {stats['peak_in_flight']}); "
          f"{stats['prompt_tokens']:,} prompt + {stats['completion_tokens']:,} completion tokens")
    print(f"one request per entry, one at a time: {per_entry * 1000:.0f} ms per entry, measured on "
          f"{args.baseline} entries -> {baseline:.0f} s for {len(entries):,}")
    print(f"speed-up: {baseline / wall:.0f}x")


if __name__ == "__main__":
    main()
