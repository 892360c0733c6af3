"""Benchmark: one-entry orders end to end, next to bare RQ jobs doing the same tagging; POST latency.

Run: .venv/bin/python bench/orders.py [--orders 1000] [--clients 8] [--paced-rates 1,2] [--worker-class DOTTED.PATH]

One run, one machine, one Redis: a real stack (`manage.py runstack --workers 1`: gunicorn,
one RQ worker, the reconciler) and 8 HTTP client processes (bench/load.py).

1. Throughput: N one-entry tagging orders, each client POSTing its next as soon as its
   last was accepted, timed from the first POST until the last order is completed.
2. Latency: orders POSTed at a steady rate for 10 seconds each: the end-to-end rate
   measured in 1, the rate the stack can take for as long as it runs, and twice that (the
   queue grows, the POSTs must still be quick); each POST's latency counts from when it
   was due. In 1 the latency is mostly waiting: 8 clients that never pause keep every
   server process busy, so latency = 8 / throughput (Little's law).
3. N bare RQ jobs that tag the same entries and store the same Log and Tag rows, without
   an order, on RQ's default (forking) worker against the same Redis and database.

Prints orders/s, bare jobs/s, their ratio, and the POST latencies (p50, p99, max) of 1 and 2.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
import uuid
from datetime import datetime, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import load  # noqa: E402
from load import Request, Result  # noqa: E402

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

# A queue of this run's own: a shared Redis may hold the registries of earlier runs.
BARE_QUEUE = f"bench-bare-{uuid.uuid4().hex[:8]}"

# Counts the orders placed since sys.argv[1] (a shared database may hold earlier runs' orders).
COUNT_CODE = """
import sys
from asyncrest.models import Order
orders = Order.objects.filter(created_at__gte=sys.argv[1])
print(orders.filter(status="completed").count(), orders.filter(status__in=["failed", "cancelled"]).count())
"""

BARE_DELETE_CODE = """
import sys
from rq import Queue
from asyncrest.broker.queues import get_connection
queue = Queue(sys.argv[1], connection=get_connection())
queue.delete(delete_jobs=True)
for registry in (queue.finished_job_registry, queue.failed_job_registry):
    queue.connection.delete(registry.key)
print("deleted")
"""

BARE_COUNT_CODE = """
import sys
from rq import Queue
from asyncrest.broker.queues import get_connection
queue = Queue(sys.argv[1], connection=get_connection())
print(queue.finished_job_registry.count, queue.failed_job_registry.count)
"""

ENQUEUE_CODE = """
import sys
from rq import Queue
from asyncrest.broker.queues import get_connection
queue = Queue(sys.argv[1], connection=get_connection())
entries = sys.argv[3:]
with queue.connection.pipeline() as pipe:
    for i in range(int(sys.argv[2])):
        queue.enqueue("bench.bare_jobs.tag_entry", entries[i % len(entries)], pipeline=pipe, result_ttl=600)
    pipe.execute()
print(queue.count)
"""


def order_requests(stack, total: int) -> list[Request]:
    """`total` POSTs of one-entry tagging orders, the entries taken in turn."""
    headers = {"Authorization": f"Token {stack.token}", "Content-Type": "application/json"}
    return [
        Request("POST", "/async/tagging/order/", json.dumps({"entry": ENTRIES[index % len(ENTRIES)]}).encode(), headers)
        for index in range(total)
    ]


def place_orders(stack, total: int, clients: int, rate: float | None = None) -> Result:
    """POST `total` one-entry orders from `clients` client processes; raise SystemExit on any refusal."""
    result = load.run(stack.url, order_requests(stack, total), clients=clients, rate=rate, expect=(202,))
    if result.errors:
        raise SystemExit(result.errors[0])
    return result


class CpuUsage:
    """CPU time of the stack's web server and workers, and how busy the machine was, from /proc."""

    def __init__(self, stack) -> None:
        from stack import descendants

        pids = stack.pids()
        self.groups = {"web": descendants(pids["web"]) + [pid for pid in [pids.get("front_door")] if pid], "worker": list(pids["workers"])}
        self.ticks = os.sysconf("SC_CLK_TCK")
        self.start = ({name: self._process_ticks(group) for name, group in self.groups.items()},
                      self._machine(), time.monotonic())

    def stop(self) -> None:
        (start_groups, (start_all, start_idle), start_time) = self.start
        end_all, end_idle = self._machine()
        self.elapsed = time.monotonic() - start_time
        self.busy = 1 - (end_idle - start_idle) / max(1, end_all - start_all)
        self.used = {name: (self._process_ticks(group) - start_groups[name]) / self.ticks
                     for name, group in self.groups.items()}

    def seconds(self, name: str) -> float:
        return self.used[name]

    def cores(self, name: str) -> float:
        return self.used[name] / self.elapsed

    @staticmethod
    def _machine() -> tuple[int, int]:
        with open("/proc/stat") as stat:
            values = [int(value) for value in stat.readline().split()[1:]]
        return sum(values), values[3] + values[4]  # all, idle + iowait

    @staticmethod
    def _process_ticks(pids: list[int]) -> int:
        total = 0
        for pid in pids:
            try:
                with open(f"/proc/{pid}/stat") as stat:
                    fields = stat.read().rsplit(")", 1)[1].split()
                total += int(fields[11]) + int(fields[12])  # utime + stime
            except (OSError, IndexError, ValueError):
                pass
        return total


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
    parser.add_argument("--orders", type=int, default=1000, help="orders (and bare jobs) in the throughput run")
    parser.add_argument("--paced-seconds", type=float, default=10, help="length of each paced run")
    parser.add_argument("--paced-rates", default="1,2",
                        help="rates of the paced runs, as multiples of the measured end-to-end rate")
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--worker-class", default="asyncrest.worker.Worker",
                        help="the stack's RQ worker class, e.g. asyncrest.worker.ForkingWorker")
    args = parser.parse_args()

    from machine import describe, describe_services
    from stack import Stack

    say = lambda text: print(text, file=sys.stderr, flush=True)  # noqa: E731
    say("starting the stack")
    # Throttling would turn a benchmark's burst into 429s: measure the order layer itself.
    with Stack(workers=1, env={"ASYNCREST_ORDER_RATE": "", "ASYNCREST_WORKER_CLASS": args.worker_class}) as stack:
        say(f"stack at {stack.url}; placing orders")
        since = datetime.now(timezone.utc).isoformat()
        warm_up = place_orders(stack, 4 * args.clients, args.clients)  # first-request costs of every process
        placed = warm_up.count
        wait_for(stack, COUNT_CODE, [since], placed, timeout=300)
        time.sleep(1)

        # 1. Throughput: every client places its next order as soon as the last is accepted.
        usage = CpuUsage(stack)
        started = time.perf_counter()
        burst = place_orders(stack, args.orders, args.clients)
        usage.stop()
        placed += burst.count
        say(f"{args.orders} orders placed in {burst.seconds:.2f} s; waiting for them")
        finished = wait_for(stack, COUNT_CODE, [since], placed, timeout=1800)
        orders_per_s = args.orders / (finished - started)

        # 2. Latency at a steady rate: at the end-to-end rate orders arrive as fast as they
        #    complete; above it the queue grows while the POSTs are still answered.
        paced = []
        for multiple in [float(value) for value in args.paced_rates.split(",")]:
            rate = max(1, int(orders_per_s * multiple))
            total = max(args.clients, int(rate * args.paced_seconds))
            say(f"placing {total} orders at {rate}/s")
            paced.append((multiple, rate, place_orders(stack, total, args.clients, rate=rate)))
            placed += paced[-1][2].count
            wait_for(stack, COUNT_CODE, [since], placed, timeout=1800)

        # 3. The same tagging as bare RQ jobs, on RQ's default forking worker, same Redis and database.
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
            stack.manage_shell(BARE_DELETE_CODE, BARE_QUEUE)
        bare_per_s = args.orders / (bare_finished - bare_started)
        say("bare jobs done")

    print(f"machine: {describe()}")
    print(f"{describe_services()}; "
          f"stack: runstack --workers 1 ({stack.worker_class}); {args.clients} client processes")
    print(f"throughput: {args.orders:,} one-entry orders, each client POSTing as soon as its last was accepted")
    print(f"  orders end to end: {finished - started:.2f} s, {orders_per_s:,.1f} orders/s")
    print(f"  POSTs accepted: {burst.summary()}")
    print(f"  while POSTing: machine {usage.busy:.0%} busy; web {usage.cores('web'):.2f} cores "
          f"({usage.seconds('web') / burst.count * 1000:.2f} ms CPU per POST), worker {usage.cores('worker'):.2f} cores")
    print(f"  bare RQ jobs (same tagging and rows, default forking worker): "
          f"{bare_finished - bare_started:.2f} s, {bare_per_s:,.1f} jobs/s")
    print(f"  ratio: orders end to end / bare RQ jobs = {orders_per_s / bare_per_s:.2f}x")
    print("latency: orders POSTed at a steady rate, each POST's latency counted from when it was due")
    for multiple, rate, result in paced:
        print(f"  at {rate}/s ({multiple:g}x the end-to-end rate): POST {result.summary()}")


if __name__ == "__main__":
    main()
