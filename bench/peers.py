"""Benchmark: asyncrest against what a team would write by hand instead, in one run, same load.

Run: .venv/bin/pip install -e '.[site,bench]' && .venv/bin/python bench/peers.py [--orders 1000] [--clients 8]
     [--rounds 3] [--systems asyncrest,asyncrest-gunicorn,celery-prefork,celery-solo,django-rq]

The peers (bench/peersite/) implement the same one-entry tagging contract as a DRF view that
creates an order row and queues its task on commit, a task that tags the entry and stores the
same Log and Tag rows with the same KeywordTagger, and a status view; on Celery (Redis
broker, `delay_on_commit`, results off, database connections kept between tasks) and on
django-rq (`SimpleWorker`). `asyncrest` is `runstack` (its front door, then gunicorn);
`asyncrest-gunicorn` is the same site served exactly as the peers are, by gunicorn alone.
Every system gets a fresh database (SQLite in its own var/, or DATABASE_URL's PostgreSQL,
counted by its own rows), the one Redis of the run (REDIS_URL, else an embedded one),
emptied before each system (FLUSHDB: give the benchmark a Redis database of its own),
gunicorn with the same processes and threads as `runstack`, and one worker process. The
systems take turns, `--rounds` times; the table shows medians (and ranges). In each turn:

1. end to end: N POSTs from 8 keep-alive client processes, each sending its next as soon as
   the last was accepted, timed from the first order's creation to the last one's finish;
   CPU of the web side and the worker from /proc over that phase, and the SQL statements
   and Redis round trips their processes sent (bench/counting/, the same for every system);
2. worker alone: the worker stopped, N more orders placed, then the worker started: N over
   the time from the first order's start to the last one's finish, with the worker's CPU.
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
from statistics import median
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import load  # noqa: E402
import redis  # noqa: E402
from load import Request  # noqa: E402
from machine import describe, describe_services  # noqa: E402
from stack import FOREIGN_ENV, Stack, descendants  # noqa: E402

ENTRIES = ["wrote a program using Python Django", "tuned PostgreSQL and Redis for a Flask app",
           "deployed the React frontend with Docker on Kubernetes", "benchmarked Rust against Go"]
CELERY = [sys.executable, "-m", "celery", "-A", "peersite.celery_app", "worker", "-c", "1", "-l", "warning",
          "--without-heartbeat", "--without-gossip", "--without-mingle"]
ASYNCREST_WORKER = [sys.executable, "-m", "django", "rqworker", "default", "--worker-class", "asyncrest.worker.Worker"]
WORKERS = {
    "asyncrest": ASYNCREST_WORKER,
    "asyncrest-gunicorn": ASYNCREST_WORKER,
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
        # asyncrest-gunicorn: asyncrest's own tagging resource, served exactly as the peers are.
        self.name, self.table = name, "asyncrest_order" if name.startswith("asyncrest") else "peersite_peerorder"
        self.var_dir = Path(tempfile.mkdtemp(prefix=f"peer-{name}-"))
        # asyncrest-gunicorn is the demo site itself, with its settings; the peers are bench/peersite.
        self.settings = "demosite" if name.startswith("asyncrest") else "peersite"
        self.env = {**base_env, "ASYNCREST_VAR_DIR": str(self.var_dir),
                    "DJANGO_SETTINGS_MODULE": f"{self.settings}.settings",
                    "PEER_BACKEND": "celery" if name.startswith("celery") else "rq",
                    "ASYNCREST_ORDER_RATE": ""}  # as for runstack below: the peers have no throttle

    def __enter__(self) -> Peer:
        from asyncrest.broker.embedded import free_port
        from asyncrest.management.processes import default_web_workers

        self.run([sys.executable, "-m", "django", "migrate", "--run-syncdb", "-v", "0"])
        self.token = self.run([sys.executable, "-c", SETUP]).strip().splitlines()[-1]
        port = free_port()
        self.url = f"http://127.0.0.1:{port}"
        self.web = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", f"{self.settings}.wsgi:application", "--bind", f"127.0.0.1:{port}",
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
        self.stack = Stack(workers=0, env={"REDIS_URL": self.base_env["REDIS_URL"], "ASYNCREST_ORDER_RATE": "",
                                           "PYTHONPATH": self.base_env["PYTHONPATH"],
                                           "BENCH_COUNTS": self.base_env["BENCH_COUNTS"]}).__enter__()
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


def counted(pids: list[int]) -> tuple[int, int]:
    """SQL statements and Redis round trips the processes `pids` have sent (bench/counting/)."""
    sql = trips = 0
    for pid in pids:
        with contextlib.suppress(OSError, ValueError):
            a, b = (Path(os.environ["BENCH_COUNTS"]) / str(pid)).read_text().split()
            sql, trips = sql + int(a), trips + int(b)
    return sql, trips


def wait_until_serving(system, timeout: float = 60) -> None:
    """Wait until the worker has talked to Redis, and Celery's prefork child is there."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        pids = system.worker_pids()
        # A process that has sent nothing yet (a prefork child before its first task) has no file: it counts 0.
        if len(pids) >= (2 if system.name == "celery-prefork" else 1) and (
                Path(os.environ["BENCH_COUNTS"]) / str(system.worker.pid)).exists():
            time.sleep(0.5)  # and their idle counts are written
            return
        time.sleep(0.1)
    raise RuntimeError(f"{system.name}: the worker did not start")


def measure(system, orders: int, clients: int) -> dict:
    database = Database(system.sqlite_path())
    path = "/async/tagging/order/" if system.name.startswith("asyncrest") else "/peer/order/"
    headers = {"Authorization": f"Token {system.token}", "Content-Type": "application/json"}
    requests_ = [Request("POST", path, f'{{"entry": "{ENTRIES[i % len(ENTRIES)]} #{i}"}}'.encode(), headers)
                 for i in range(orders)]

    wait_until_serving(system)
    since = datetime.utcnow()
    web_pids, worker_pids = system.web_pids(), system.worker_pids()
    web_before, worker_before = cpu_seconds(web_pids), cpu_seconds(worker_pids)
    web_counts, worker_counts = counted(web_pids), counted(worker_pids)
    burst = load.run(system.url, requests_, clients=clients, expect=(202,))
    say(f"{system.name}: {burst.count} orders placed; waiting for them")
    if burst.errors:
        raise RuntimeError(f"{system.name}: {burst.errors[:3]}")
    _, created, _, finished = database.wait(system.table, since, orders)
    result = {"e2e": orders / (finished - created), "burst": burst,
              "web_ms": (cpu_seconds(web_pids) - web_before) / orders * 1000,
              "worker_ms_e2e": (cpu_seconds(worker_pids) - worker_before) / orders * 1000}
    time.sleep(0.5)
    (web_sql, web_trips), (worker_sql, worker_trips) = counted(web_pids), counted(worker_pids)
    result.update(sql=(web_sql - web_counts[0] + worker_sql - worker_counts[0]) / orders,
                  trips=(web_trips - web_counts[1] + worker_trips - worker_counts[1]) / orders,
                  worker_sql=(worker_sql - worker_counts[0]) / orders,
                  worker_trips=(worker_trips - worker_counts[1]) / orders)

    system.stop_worker()
    since = datetime.utcnow()
    load.run(system.url, requests_, clients=clients, expect=(202,))
    system.start_worker()
    while not database.query(f"SELECT COUNT(*) FROM {system.table} WHERE created_at >= %s AND started_at IS NOT NULL",
                             (since.isoformat(sep=" "),))[0]:
        time.sleep(0.02)  # the worker's start-up is not the orders' cost
    worker_before = cpu_seconds(system.worker_pids())
    _, _, started, finished = database.wait(system.table, since, orders)
    result.update(alone=orders / (finished - started),
                  worker_ms=(cpu_seconds(system.worker_pids()) - worker_before) / orders * 1000)
    return result


def of(runs: list[dict], key: str) -> list:
    """The figure `key` of each round."""
    return [run[key] for run in runs]


def spread(values: list[float], digits: int = 0) -> str:
    """The median, with the range when there are several rounds."""
    middle = f"{median(values):,.{digits}f}"
    return middle if len(values) == 1 else f"{middle} ({min(values):,.{digits}f}–{max(values):,.{digits}f})"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--orders", type=int, default=1000)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--rounds", type=int, default=3, help="each system this many times, taking turns")
    parser.add_argument("--systems", default="asyncrest,asyncrest-gunicorn,celery-prefork,celery-solo,django-rq")
    args = parser.parse_args()
    names = args.systems.split(",")

    from asyncrest.broker.embedded import EmbeddedRedis, free_port

    redis_dir, embedded = Path(tempfile.mkdtemp(prefix="peers-redis-")), None
    counts_dir = Path(tempfile.mkdtemp(prefix="peers-counts-"))
    os.environ["BENCH_COUNTS"] = str(counts_dir)
    redis_url = os.environ.get("REDIS_URL")
    if not redis_url:
        port = free_port()
        embedded = EmbeddedRedis(redis_dir, port=port)
        embedded.start()
        redis_url = f"redis://127.0.0.1:{port}/0"
    base_env = {name: value for name, value in os.environ.items() if name not in FOREIGN_ENV}
    base_env.update(REDIS_URL=redis_url, SECRET_KEY=secrets.token_urlsafe(50), SECURE_SSL_REDIRECT="0",
                    PYTHONUNBUFFERED="1", BENCH_COUNTS=str(counts_dir),
                    PYTHONPATH=os.pathsep.join([str(ROOT / "bench" / "counting"), str(ROOT), str(ROOT / "bench")]))
    results: dict[str, list[dict]] = {name: [] for name in names}
    try:
        for round_ in range(1, args.rounds + 1):
            for name in names:
                say(f"round {round_}, {name}: starting")
                with redis.Redis.from_url(redis_url) as client:
                    client.flushdb()  # each system starts with an empty Redis, as with a database of its own
                system = Asyncrest(base_env) if name == "asyncrest" else Peer(name, base_env)
                with system:
                    results[name].append(measure(system, args.orders, args.clients))
                say(f"{name}: {results[name][-1]['e2e']:.1f} orders/s end to end, "
                    f"{results[name][-1]['alone']:.1f} worker alone")
    finally:
        if embedded:
            embedded.stop()
        shutil.rmtree(redis_dir, ignore_errors=True)
        shutil.rmtree(counts_dir, ignore_errors=True)
    report(results, args)


def report(results: dict[str, list[dict]], args) -> None:
    rounds = len(next(iter(results.values())))
    print(f"machine: {describe()}")
    print(f"{describe_services()}; {args.orders:,} one-entry orders from {args.clients} clients; one worker each; "
          f"median of {rounds} round(s) (range)")
    print("| system | orders/s end to end | worker alone, orders/s | worker CPU per order | web CPU per POST | "
          "POST p50 / p99 | SQL statements per order (worker) | Redis round trips per order (worker) |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- |")
    for name, runs in results.items():
        p50 = median([run["burst"].percentile_ms(50) for run in runs])
        p99 = median([run["burst"].percentile_ms(99) for run in runs])
        print(f"| {name} | {spread(of(runs, 'e2e'))} | {spread(of(runs, 'alone'))} | "
              f"{median(of(runs, 'worker_ms')):.2f} ms | {median(of(runs, 'web_ms')):.2f} ms | {p50:.1f} / {p99:.1f} ms | "
              f"{median(of(runs, 'sql')):.2f} ({median(of(runs, 'worker_sql')):.2f}) | "
              f"{median(of(runs, 'trips')):.2f} ({median(of(runs, 'worker_trips')):.2f}) |")
    peers = {name: runs for name, runs in results.items() if not name.startswith("asyncrest")}
    e2e = {peer: median(of(runs, "e2e")) for peer, runs in peers.items()}
    alone = {peer: median(of(runs, "alone")) for peer, runs in peers.items()}
    for name in [name for name in results if name.startswith("asyncrest")] if peers else []:
        fastest, fastest_alone = max(e2e, key=e2e.get), max(alone, key=alone.get)
        print(f"{name} / fastest peer (medians): end to end "
              f"{median(of(results[name], 'e2e')) / e2e[fastest]:.2f}x ({fastest}), worker alone "
              f"{median(of(results[name], 'alone')) / alone[fastest_alone]:.2f}x ({fastest_alone})")

if __name__ == "__main__":
    main()
