"""Benchmark: one-entry orders end to end, next to bare RQ jobs doing the same tagging.

Run: .venv/bin/python bench/orders.py [--orders 1000] [--clients 8]

One run, one machine, one Redis: a real stack (`manage.py runstack --workers 1`: gunicorn,
one RQ worker, the reconciler) takes N one-entry tagging orders from 8 concurrent HTTP
clients, timed from the first POST until the last order is completed. Then N bare RQ jobs
that tag the same entries and store the same Log and Tag rows, without an order, run on
RQ's default (forking) worker against the same Redis and database. Prints orders/s, bare
jobs/s, their ratio, and the POST latency (p50, p99) seen by the clients.
"""
from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

ENTRIES = [
    "wrote a program using Python Django",
    "tuned the PostgreSQL indexes behind the Django admin",
    "deployed the API to Kubernetes with Helm",
    "fixed a React rendering bug in the dashboard",
    "moved the cache from Memcached to Redis",
    "lunch with the team, then code review",
    "Terraform for the S3 buckets and the CloudFront distribution",
    "Kafka consumer in Go for the billing events",
]

BARE_QUEUE = "bench-bare"

COUNT_CODE = """
from asyncrest.models import Order
print(Order.objects.filter(status="completed").count(), Order.objects.exclude(status__in=["completed"]).filter(
    status__in=["failed", "cancelled"]).count())
"""

BARE_COUNT_CODE = """
import sys
from rq import Queue
from asyncrest.queues import get_connection
queue = Queue(sys.argv[1], connection=get_connection())
print(queue.finished_job_registry.count, queue.failed_job_registry.count)
"""

ENQUEUE_CODE = """
import sys
from rq import Queue
from asyncrest.queues import get_connection
queue = Queue(sys.argv[1], connection=get_connection())
entries = sys.argv[3:]
with queue.connection.pipeline() as pipe:
    for i in range(int(sys.argv[2])):
        queue.enqueue("bench.bare_jobs.tag_entry", entries[i % len(entries)], pipeline=pipe, result_ttl=3600)
    pipe.execute()
print(queue.count)
"""


def percentile(values: list[float], p: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(round(p / 100 * (len(values) - 1))))]


def place_orders(stack, total: int, clients: int) -> list[float]:
    """POST `total` one-entry orders from `clients` threads; return each POST's latency in seconds."""
    import requests

    latencies: list[float] = []
    errors: list[str] = []
    lock = threading.Lock()
    counter = iter(range(total))

    def client():
        session = requests.Session()
        session.headers["Authorization"] = f"Token {stack.token}"
        while True:
            with lock:
                index = next(counter, None)
            if index is None:
                return
            started = time.perf_counter()
            response = session.post(f"{stack.url}/async/tagging/order/", json={"entry": ENTRIES[index % len(ENTRIES)]})
            elapsed = time.perf_counter() - started
            if response.status_code != 202:
                errors.append(f"POST answered {response.status_code}: {response.text[:300]}")
                return
            with lock:
                latencies.append(elapsed)

    threads = [threading.Thread(target=client) for _ in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if errors:
        raise SystemExit(errors[0])
    return latencies


def wait_for(stack, code: str, args: list[str], total: int, timeout: float) -> float:
    """Poll the stack until `code` reports `total` done; return when that was (perf_counter)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        done, failed = map(int, stack.manage_shell(code, *args).split())
        if failed:
            raise SystemExit(f"{failed} failed; see {stack.log_path}")
        if done >= total:
            return time.perf_counter()
        time.sleep(0.2)
    raise SystemExit(f"not done after {timeout} s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orders", type=int, default=1000)
    parser.add_argument("--clients", type=int, default=8)
    args = parser.parse_args()

    from machine import describe
    from stack import Stack

    say = lambda text: print(text, file=sys.stderr, flush=True)  # noqa: E731
    say("starting the stack")
    # Throttling would turn a benchmark's burst into 429s: measure the order layer itself.
    with Stack(workers=1, env={"ASYNCREST_ORDER_RATE": ""}) as stack:
        say(f"stack at {stack.url}; placing orders")
        stack.session.post(f"{stack.url}/async/tagging/order/", json={"entry": "warm up Django"})  # first-request costs
        time.sleep(2)
        started = time.perf_counter()
        latencies = place_orders(stack, args.orders, args.clients)
        posted = time.perf_counter()
        say(f"{args.orders} orders placed in {posted - started:.2f} s; waiting for them")
        finished = wait_for(stack, COUNT_CODE, [], args.orders + 1, timeout=1800)
        orders_per_s = args.orders / (finished - started)

        # The same tagging as bare RQ jobs, on RQ's default forking worker, same Redis and database.
        env = {**stack.env, "PYTHONPATH": os.pathsep.join([str(ROOT), str(ROOT / "bench")])}
        say("orders done; enqueueing bare jobs")
        stack.manage_shell(ENQUEUE_CODE, BARE_QUEUE, str(args.orders), *ENTRIES)
        bare_started = time.perf_counter()
        redis_url = stack.env.get("REDIS_URL") or f"unix://{stack.var_dir / 'redis.sock'}"
        worker = subprocess.Popen(
            [sys.executable, str(ROOT / "bench" / "bare_worker.py"), redis_url, BARE_QUEUE],
            cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=open(stack.var_dir / "bare-worker.log", "wb"),
        )
        try:
            bare_finished = wait_for(stack, BARE_COUNT_CODE, [BARE_QUEUE], args.orders, timeout=1800)
        finally:
            worker.terminate()
            worker.wait(30)
        bare_per_s = args.orders / (bare_finished - bare_started)
        say("bare jobs done")

    print(f"machine: {describe()}")
    print(f"database: {os.environ.get('DATABASE_URL', 'SQLite (var/)').split('@')[-1]}; "
          f"redis: {'REDIS_URL' if os.environ.get('REDIS_URL') else 'embedded'}")
    print(f"{args.orders:,} one-entry orders from {args.clients} HTTP clients, 1 worker: "
          f"{finished - started:.2f} s, {orders_per_s:,.1f} orders/s end to end "
          f"(all POSTs answered after {posted - started:.2f} s)")
    print(f"POST latency: p50 {percentile(latencies, 50) * 1000:.1f} ms, p99 {percentile(latencies, 99) * 1000:.1f} ms")
    print(f"{args.orders:,} bare RQ jobs (same tagging and rows, default forking worker): "
          f"{bare_finished - bare_started:.2f} s, {bare_per_s:,.1f} jobs/s")
    print(f"ratio: orders end to end / bare RQ jobs = {orders_per_s / bare_per_s:.2f}x")


if __name__ == "__main__":
    main()
