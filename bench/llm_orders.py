"""Benchmark: 1,000 one-entry tagging orders placed at once, tagged by the LLM tagger, coalescing on and off.

A loopback chat-completions server (tests/llm_server.py, in its own process) takes
`--latency` seconds a request. For each mode, a fresh `runstack` (`--workers` RQ workers,
the OpenAI tagger pointed at that server, at most `--concurrency` requests in flight per
`tag()` call) gets N one-entry orders from 8 keep-alive clients; the benchmark waits until
every order has finished and reports the LLM requests the orders cost and the wall time
from the first order's creation to the last one's finish.

- coalescing on (the default): a worker's drain claims up to 50 waiting one-entry orders
  and tags their entries in one `tag()` call, which sends them in a few requests at once;
- coalescing off (`ASYNCREST_COALESCE=0`): each order runs alone, one request per order.

Run: .venv/bin/python bench/llm_orders.py [--orders 1000] [--latency 0.2] [--concurrency 32] [--workers 2]
"""
from __future__ import annotations

import argparse
import sys
import time
from datetime import datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import load  # noqa: E402
from llm_tagging import loopback_server  # noqa: E402
from load import Request  # noqa: E402
from machine import describe, describe_services  # noqa: E402
from peers import Database  # noqa: E402
from stack import Stack  # noqa: E402

ENTRIES = ["wrote a program using Python Django", "tuned PostgreSQL and Redis for a Flask app",
           "deployed the React frontend with Docker on Kubernetes", "benchmarked Rust against Go"]


def run(mode: str, args, server) -> dict:
    env = {"TAGGING_BACKEND": "tagging.taggers.openai.OpenAITagger", "OPENAI_API_KEY": "bench",
           "OPENAI_BASE_URL": server.url, "TAGGING_MAX_CONCURRENCY": str(args.concurrency),
           "ASYNCREST_ORDER_RATE": "", "ASYNCREST_COALESCE": "1" if mode == "on" else "0"}
    with Stack(workers=args.workers, env=env) as stack:
        database = Database(None if stack.env.get("DATABASE_URL") else stack.var_dir / "db.sqlite3")
        headers = {"Authorization": f"Token {stack.token}", "Content-Type": "application/json"}
        orders = [Request("POST", "/async/tagging/order/",
                          f'{{"entry": "{ENTRIES[i % len(ENTRIES)]} #{i}"}}'.encode(), headers)
                  for i in range(args.orders)]
        before = server.stats()
        since = datetime.utcnow()
        placed = time.perf_counter()
        burst = load.run(stack.url, orders, clients=8, expect=(202,))
        if burst.errors:
            raise RuntimeError(f"coalescing {mode}: {burst.errors[:3]}")
        placing = time.perf_counter() - placed
        done, created, _, finished = database.wait("asyncrest_order", since, args.orders)
        failed = database.query("SELECT COUNT(*) FROM asyncrest_order WHERE created_at >= %s AND status <> %s",
                                (since.isoformat(sep=" "), "completed"))[0]
        after = server.stats()
    return {"requests": after["requests"] - before["requests"], "wall": finished - created, "placing": placing,
            "failed": failed, "peak": after["peak_in_flight"],
            "tokens": after["prompt_tokens"] - before["prompt_tokens"]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orders", type=int, default=1000)
    parser.add_argument("--latency", type=float, default=0.2, help="seconds the server takes per request")
    parser.add_argument("--concurrency", type=int, default=32, help="requests in flight at most per tag() call")
    parser.add_argument("--workers", type=int, default=2, help="RQ workers of the stack")
    args = parser.parse_args()

    results = {}
    for mode in ("on", "off"):
        with loopback_server(args.latency) as server:  # a fresh server each time: its peak is this run's
            print(f"coalescing {mode}: placing {args.orders:,} orders", file=sys.stderr, flush=True)
            results[mode] = run(mode, args, server)

    print(f"machine: {describe()}")
    print(f"{describe_services()}; loopback LLM server, {args.latency * 1000:.0f} ms per request, "
          f"at most {args.concurrency} in flight per tag() call; {args.workers} RQ workers; "
          f"{args.orders:,} one-entry orders from 8 clients")
    print("| coalescing | LLM requests | prompt tokens | wall time, first order placed to last finished | "
          "orders/s | peak requests in flight | not completed |")
    print("| --- | --- | --- | --- | --- | --- | --- |")
    for mode, r in results.items():
        print(f"| {mode} | {r['requests']:,} | {r['tokens']:,} | {r['wall']:.1f} s | {args.orders / r['wall']:.0f} | "
              f"{r['peak']} | {r['failed']} |")
    on, off = results["on"], results["off"]
    print(f"coalescing on: {off['requests'] / max(1, on['requests']):.0f}x fewer requests, "
          f"{off['wall'] / on['wall']:.1f}x less wall time")


if __name__ == "__main__":
    main()
