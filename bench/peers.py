"""Benchmark: asyncrest against what a team would write by hand instead, in one run, same load.

Run: .venv/bin/pip install -e '.[site,bench]' && .venv/bin/python bench/peers.py [--orders 1000] [--clients 8]
     [--systems asyncrest,celery-prefork,celery-solo,django-rq]

The peers (bench/peersite/) implement the same one-entry tagging contract as a DRF view that
creates an order row and queues its task on commit, a task that tags the entry and stores the
same Log and Tag rows with the same KeywordTagger, and a status view; on Celery (Redis
broker, `delay_on_commit`, results off, database connections kept between tasks) and on
django-rq (`SimpleWorker`). Every system gets a fresh database (SQLite in its own var/, or
DATABASE_URL's PostgreSQL, counted by its own rows), the one Redis of the run (REDIS_URL,
else an embedded one), gunicorn with the same processes and threads as `runstack`, and one
worker process. For each, in turn:

1. end to end: N POSTs from 8 keep-alive client processes, each sending its next as soon as
   the last was accepted, timed from the first order's creation to the last one's finish;
   CPU of the web side and the worker from /proc over that phase;
2. worker alone: the worker stopped, N more orders placed, then the worker started: N over
   the time from the first order's start to the last one's finish, with the worker's CPU
   and the Redis commands (INFO commandstats) that phase cost.
"""
from __future__ import annotations

import argparse
import contextlib
import os
import secrets
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import load  # noqa: E402
from load import Request  # noqa: E402
from machine import describe, describe_services  # noqa: E402
from stack import FOREIGN_ENV, Stack, descendants  # noqa: E402

ENTRIES = ["wrote a program using Python Django", "tuned PostgreSQL and Redis for a Flask app",
           "deployed the React frontend with Docker on Kubernetes", "benchmarked Rust against Go"]
CELERY = [sys.executable, "-m", "celery", "-A", "peersite.celery_app", "worker", "-c", "1", "-l", "warning",
          "--without-heartbeat", "--without-gossip", "--without-mingle"]
WORKERS = {
    "asyncrest": [sys.executable, "-m", "django", "rqworker", "default", "--worker-class", "asyncrest.worker.Worker"],
    "celery-prefork": [*CELERY, "-P", "prefork"],
    "celery-solo": [*CELERY, "-P", "solo"],
    "django-rq": [sys.executable, "-m", "django", "rqworker", "peer", "--worker-class", "rq.worker.SimpleWorker"],
}
SETUP = ("import django; django.setup()\n"
         "from django.contrib.auth import get_user_model\nfrom rest_framework.authtoken.models import Token\n"
         "user, _ = get_user_model().objects.get_or_create(username='bench')\n"
         "print(Token.objects.get_or_create(user=user)[0].key)\n")


def say(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


class Database:
    """Reads an orders table's timings straight from SQLite or PostgreSQL, without Django."""

    def __init__(self, sqlite_path: Path | None):
        self.sqlite_path = sqlite_path

    def query(self, sql: str, params: tuple):
        if self.sqlite_path:
            with contextlib.closing(sqlite3.connect(self.sqlite_path, timeout=30)) as db:
                return db.execute(sql.replace("%s", "?"), params).fetchone()
        import psycopg

        with psycopg.connect(os.environ["DATABASE_URL"], autocommit=True) as db:
            return db.execute(sql, params).fetchone()

    def progress(self, table: str, since: datetime) -> tuple[int, float | None, float | None, float | None]:
        """Finished orders created since `since`, and their first creation, first start and last finish."""
        done, created, started, finished = self.query(
            f"SELECT COUNT(*), MIN(created_at), MIN(started_at), MAX(finished_at) FROM {table} "
            "WHERE created_at >= %s AND status IN ('completed', 'failed')", (since.isoformat(sep=" "),))
        return done, *(stamp(value) for value in (created, started, finished))

    def wait(self, table: str, since: datetime, count: int, timeout: float = 1800):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = self.progress(table, since)
            if found[0] >= count:
                return found
            time.sleep(0.25)
        raise RuntimeError(f"{count} orders did not finish within {timeout} s")


def stamp(value) -> float | None:
    if value is None:
        return None
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value.timestamp() if value.tzinfo else value.replace(tzinfo=None).timestamp()


def cpu_seconds(pids: list[int]) -> float:
    ticks, total = os.sysconf("SC_CLK_TCK"), 0
    for pid in pids:
        with contextlib.suppress(OSError, IndexError, ValueError):
            fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
            total += int(fields[11]) + int(fields[12])
    return total / ticks


def answers(url: str) -> bool:
    import requests

    try:
        return requests.get(url, timeout=2).status_code == 200
    except requests.RequestException:
        return False


def redis_calls(url: str) -> int:
    import redis

    with redis.Redis.from_url(url) as client:
        return sum(stats["calls"] for name, stats in client.info("commandstats").items())


class System:
    """What every system has: one worker process (WORKERS[name]) the benchmark starts and stops, in `var_dir`."""

    name: str
    env: dict
    var_dir: Path
    worker: subprocess.Popen | None = None

    def start_worker(self) -> None:
        self.worker = subprocess.Popen(WORKERS[self.name], cwd=ROOT, env=self.env, stdout=subprocess.DEVNULL,
                                       stderr=open(self.var_dir / "worker.log", "ab"))

    def stop_worker(self) -> None:
        if self.worker and self.worker.poll() is None:
            self.worker.send_signal(signal.SIGTERM)
            self.worker.wait(60)

    def worker_pids(self) -> list[int]:
        return descendants(self.worker.pid)

    def sqlite_path(self) -> Path | None:
        return None if os.environ.get("DATABASE_URL") else self.var_dir / "db.sqlite3"


class Peer(System):
    """gunicorn serving bench/peersite and one worker process (PEER_BACKEND from the system's name)."""

    def __init__(self, name: str, base_env: dict):
        self.name, self.table = name, "peersite_peerorder"
        self.var_dir = Path(tempfile.mkdtemp(prefix=f"peer-{name}-"))
        self.env = {**base_env, "ASYNCREST_VAR_DIR": str(self.var_dir), "DJANGO_SETTINGS_MODULE": "peersite.settings",
                    "PEER_BACKEND": "celery" if name.startswith("celery") else "rq"}

    def __enter__(self) -> Peer:
        from asyncrest.broker.embedded import free_port
        from asyncrest.management.processes import default_web_workers

        self.run([sys.executable, "-m", "django", "migrate", "--run-syncdb", "-v", "0"])
        self.token = self.run([sys.executable, "-c", SETUP]).strip().splitlines()[-1]
        port = free_port()
        self.url = f"http://127.0.0.1:{port}"
        self.web = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "peersite.wsgi:application", "--bind", f"127.0.0.1:{port}",
             "--workers", str(default_web_workers()), "--threads", "4", "--worker-class", "gthread",
             "--log-level", "warning", "--control-socket", str(self.var_dir / "gunicorn.ctl")],
            cwd=ROOT, env=self.env, stdout=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 60
        while not answers(f"{self.url}/healthz/"):
            if time.monotonic() > deadline or self.web.poll() is not None:
                raise RuntimeError(f"{self.name}: the web server did not start")
            time.sleep(0.2)
        self.start_worker()
        return self

    def run(self, command: list[str]) -> str:
        done = subprocess.run(command, cwd=ROOT, env=self.env, capture_output=True, text=True, timeout=300)
        if done.returncode:
            raise RuntimeError(f"{self.name}: {' '.join(command[:4])} failed:\n{done.stderr[-2000:]}")
        return done.stdout

    def web_pids(self) -> list[int]:
        return descendants(self.web.pid)

    def __exit__(self, *exc_info) -> None:
        self.stop_worker()
        self.web.terminate()
        self.web.wait(30)
        shutil.rmtree(self.var_dir, ignore_errors=True)


class Asyncrest(System):
    """`runstack --workers 0` (migrate, Redis as given, gunicorn behind the front door, the reconciler), and
    the worker runstack would start, started and stopped by the benchmark as the peers' are."""

    table = "asyncrest_order"
    name = "asyncrest"

    def __init__(self, base_env: dict):
        self.base_env = base_env

    def __enter__(self) -> Asyncrest:
        self.stack = Stack(workers=0, env={"REDIS_URL": self.base_env["REDIS_URL"], "ASYNCREST_ORDER_RATE": ""}).__enter__()
        self.url, self.token, self.var_dir = self.stack.url, self.stack.token, self.stack.var_dir
        self.env = {**self.stack.env, "DJANGO_SETTINGS_MODULE": "demosite.settings"}
        self.start_worker()
        return self

    def __exit__(self, *exc_info) -> None:
        self.stop_worker()
        self.stack.__exit__(*exc_info)

    def web_pids(self) -> list[int]:
        pids = self.stack.pids()
        return descendants(pids["web"]) + [pids["front_door"]]


def measure(system, orders: int, clients: int, redis_url: str) -> dict:
    database = Database(system.sqlite_path())
    path = "/async/tagging/order/" if system.name == "asyncrest" else "/peer/order/"
    headers = {"Authorization": f"Token {system.token}", "Content-Type": "application/json"}
    requests_ = [Request("POST", path, f'{{"entry": "{ENTRIES[i % len(ENTRIES)]} #{i}"}}'.encode(), headers)
                 for i in range(orders)]

    since = datetime.utcnow()
    web_before, worker_before = cpu_seconds(system.web_pids()), cpu_seconds(system.worker_pids())
    burst = load.run(system.url, requests_, clients=clients, expect=(202,))
    say(f"{system.name}: {burst.count} orders placed; waiting for them")
    if burst.errors:
        raise RuntimeError(f"{system.name}: {burst.errors[:3]}")
    _, created, _, finished = database.wait(system.table, since, orders)
    result = {"e2e": orders / (finished - created), "burst": burst,
              "web_ms": (cpu_seconds(system.web_pids()) - web_before) / orders * 1000,
              "worker_ms_e2e": (cpu_seconds(system.worker_pids()) - worker_before) / orders * 1000}

    system.stop_worker()
    since = datetime.utcnow()
    load.run(system.url, requests_, clients=clients, expect=(202,))
    system.start_worker()
    while not database.query(f"SELECT COUNT(*) FROM {system.table} WHERE created_at >= %s AND started_at IS NOT NULL",
                             (since.isoformat(sep=" "),))[0]:
        time.sleep(0.02)  # the worker's start-up is not the orders' cost
    calls_before, worker_before = redis_calls(redis_url), cpu_seconds(system.worker_pids())
    _, _, started, finished = database.wait(system.table, since, orders)
    result.update(alone=orders / (finished - started),
                  worker_ms=(cpu_seconds(system.worker_pids()) - worker_before) / orders * 1000,
                  redis_per_order=(redis_calls(redis_url) - calls_before) / orders)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--orders", type=int, default=1000)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--systems", default="asyncrest,celery-prefork,celery-solo,django-rq")
    args = parser.parse_args()
    names = args.systems.split(",")

    from asyncrest.broker.embedded import EmbeddedRedis, free_port

    redis_dir, embedded = Path(tempfile.mkdtemp(prefix="peers-redis-")), None
    redis_url = os.environ.get("REDIS_URL")
    if not redis_url:
        port = free_port()
        embedded = EmbeddedRedis(redis_dir, port=port)
        embedded.start()
        redis_url = f"redis://127.0.0.1:{port}/0"
    base_env = {name: value for name, value in os.environ.items() if name not in FOREIGN_ENV}
    base_env.update(REDIS_URL=redis_url, SECRET_KEY=secrets.token_urlsafe(50), SECURE_SSL_REDIRECT="0",
                    PYTHONUNBUFFERED="1", PYTHONPATH=os.pathsep.join([str(ROOT), str(ROOT / "bench")]))
    results = {}
    try:
        for name in names:
            say(f"{name}: starting")
            system = Asyncrest(base_env) if name == "asyncrest" else Peer(name, base_env)
            with system:
                results[name] = measure(system, args.orders, args.clients, redis_url)
            say(f"{name}: {results[name]['e2e']:.1f} orders/s end to end, {results[name]['alone']:.1f} worker alone")
    finally:
        if embedded:
            embedded.stop()
        shutil.rmtree(redis_dir, ignore_errors=True)

    print(f"machine: {describe()}")
    print(f"{describe_services()}; {args.orders:,} one-entry orders from {args.clients} clients; one worker each")
    print("| system | orders/s end to end | worker alone, orders/s | worker CPU per order | web CPU per POST | "
          "POST p50 / p99 | Redis commands per order (worker alone) |")
    print("| --- | --- | --- | --- | --- | --- | --- |")
    for name, r in results.items():
        print(f"| {name} | {r['e2e']:.1f} | {r['alone']:.1f} | {r['worker_ms']:.2f} ms | {r['web_ms']:.2f} ms | "
              f"{r['burst'].percentile_ms(50):.1f} / {r['burst'].percentile_ms(99):.1f} ms | {r['redis_per_order']:.1f} |")
    peers = {name: r for name, r in results.items() if name != "asyncrest"}
    if "asyncrest" in results and peers:
        ours = results["asyncrest"]
        fastest = max(peers, key=lambda name: peers[name]["e2e"])
        fastest_alone = max(peers, key=lambda name: peers[name]["alone"])
        print(f"asyncrest / fastest peer: end to end {ours['e2e'] / peers[fastest]['e2e']:.2f}x ({fastest}), "
              f"worker alone {ours['alone'] / peers[fastest_alone]['alone']:.2f}x ({fastest_alone})")


if __name__ == "__main__":
    main()
