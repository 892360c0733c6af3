"""Benchmark: entries per second of the offline KeywordTagger on one core.

Run: .venv/bin/python bench/keyword_tagger.py [--entries 100000] [--pool FILE]

The gazetteer is loaded, then frozen out of the garbage collector's generations as a
worker does at start. The entries are drawn, with repeats, from a CSV's `entry` column: by default the
synthetic labelled set; `--pool tests/tagging/data/real_entries.csv` draws from the
sentences real developers wrote, whose words and tags repeat less.
"""
from __future__ import annotations

import argparse
import csv
import gc
import os
import random
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "demosite.settings")
os.environ.setdefault("DEBUG", "1")  # a local run: no SECRET_KEY needed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--entries", type=int, default=100_000)
    parser.add_argument("--pool", type=Path, default=ROOT / "tests/tagging/data/labelled_entries.csv",
                        help="a CSV whose 'entry' column the entries are drawn from (default: %(default)s)")
    args = parser.parse_args()

    import django

    django.setup()
    from tagging.taggers.keywords import KeywordTagger

    with open(args.pool, newline="", encoding="utf-8") as handle:
        pool = [row["entry"] for row in csv.DictReader(handle)]
    entries = random.Random(0).choices(pool, k=args.entries)

    started = time.perf_counter()
    tagger = KeywordTagger()
    tagger.tag(entries[:1])
    load = time.perf_counter() - started
    # As a worker does once its gazetteer is loaded (asyncrest.worker_started): the
    # long-lived objects leave the collector's generations.
    gc.collect()
    gc.freeze()

    started = time.perf_counter()
    results = tagger.tag(entries)
    elapsed = time.perf_counter() - started
    tags = sum(len(r.tags) for r in results)

    from machine import describe

    print(f"machine: {describe()}")
    print(f"gazetteer load: {load * 1000:.1f} ms")
    print(f"pool: {args.pool.name}, {len(pool):,} different entries")
    print(f"tagged {len(entries):,} entries ({tags:,} tags) in {elapsed:.3f} s: {len(entries) / elapsed:,.0f} entries/s")


if __name__ == "__main__":
    main()
