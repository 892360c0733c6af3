"""A real asyncrest stack for benchmarks: `manage.py runstack` in a temporary var/ directory.

`Stack` starts runstack (migrate, Redis, gunicorn, N RQ workers, the reconciler) on a free
port with its own `ASYNCREST_VAR_DIR`, so its SQLite database, embedded Redis and uploads
live in a temporary directory that is removed afterwards. `REDIS_URL` and `DATABASE_URL`
are honoured as runstack honours them. `MemorySampler` watches the stack's processes
through /proc.
"""
from __future__ import annotations

import contextlib
import json
import os
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parent.parent
# Variables that would point the stack at another settings module, tagger or debug mode;
# REDIS_URL and DATABASE_URL are kept on purpose.
FOREIGN_ENV = (
    "DJANGO_SETTINGS_MODULE", "DEBUG", "SECRET_KEY", "ASYNCREST_VAR_DIR", "OPENAI_API_KEY", "OPENAI_BASE_URL",
    "TAGGING_BACKEND", "TAGGING_MODEL", "TAGGING_MAX_CONCURRENCY", "TAGGING_TIMEOUT",
)
MIB = 1024 * 1024

# Run in the stack's own environment: a user with a token, the upload limit and the worker class.
SETUP_CODE = """
import json
from django.contrib.auth import get_user_model
from rest_framework.authtoken.models import Token
from asyncrest import conf
user, _ = get_user_model().objects.get_or_create(username="bench")
token, _ = Token.objects.get_or_create(user=user)
print(json.dumps({"token": token.key, "max_upload_size": conf.get("MAX_UPLOAD_SIZE"),
                  "worker_class": conf.get("WORKER_CLASS")}))
"""

# Run in the stack's own environment after an order: its parts and when each phase ended.
ORDER_CODE = """
import json, sys
from django.db.models import Count, Max, Min
from asyncrest.models import Order, Part
order = Order.objects.get(pk=sys.argv[1])
parts = Part.objects.filter(order=order).aggregate(
    n=Count("id"), created=Min("created_at"), started=Min("started_at"), finished=Max("finished_at"),
    attempts=Max("attempts"))
busy = sum(
    (finished - started).total_seconds()
    for started, finished in Part.objects.filter(order=order).values_list("started_at", "finished_at")
    if started and finished
)
def t(value):
    return value.timestamp() if value else None
print(json.dumps({
    "created": t(order.created_at), "started": t(order.started_at), "finished": t(order.finished_at),
    "attempts": order.attempts, "parts": parts["n"], "parts_created": t(parts["created"]),
    "parts_started": t(parts["started"]), "parts_finished": t(parts["finished"]),
    "part_attempts": parts["attempts"] or 0, "parts_busy": busy, "usage": order.usage,
}))
"""


class StackError(RuntimeError):
    """The stack did not start, or an order did not complete."""


class Stack:
    """`manage.py runstack --workers N` on a free port in a temporary var/; a context manager."""

    def __init__(self, *, workers: int = 1, env: dict[str, str] | None = None) -> None:
        self.workers = workers
        self.extra_env = env or {}
        self.process: subprocess.Popen | None = None

    def __enter__(self) -> Stack:
        from asyncrest.broker.embedded import free_port

        # A SIGTERM (`timeout`, `kill`) must also stop the stack and remove its directory.
        self.previous_sigterm = signal.signal(signal.SIGTERM, stop_on_sigterm)
        self.var_dir = Path(tempfile.mkdtemp(prefix="asyncrest-bench-"))
        self.env = {name: value for name, value in os.environ.items() if name not in FOREIGN_ENV}
        # DEBUG stays off, as in production (with DEBUG on Django keeps every query in memory);
        # the site is served over plain HTTP on loopback, so no redirect to HTTPS.
        self.env.update(
            ASYNCREST_VAR_DIR=str(self.var_dir), PYTHONUNBUFFERED="1", SECRET_KEY=secrets.token_urlsafe(50),
            SECURE_SSL_REDIRECT="0", **self.extra_env,
        )
        port = free_port()
        self.url = f"http://127.0.0.1:{port}"
        self.log_path = self.var_dir / "runstack.log"
        with open(self.log_path, "wb") as log:
            self.process = subprocess.Popen(
                [sys.executable, "manage.py", "runstack", "--port", str(port), "--workers", str(self.workers)],
                cwd=ROOT, env=self.env, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
            )
        try:
            self.wait_until_ready()
            setup = json.loads(self.manage_shell(SETUP_CODE))
        except BaseException:
            self.__exit__(None, None, None)
            raise
        self.token = setup["token"]
        self.max_upload_size = setup["max_upload_size"]
        self.worker_class = setup["worker_class"]
        self.session = requests.Session()
        self.session.headers["Authorization"] = f"Token {self.token}"
        return self

    def __exit__(self, *exc_info) -> None:
        """Stop runstack as Ctrl-C does, kill whatever is left of it, and remove the var/ directory."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(40)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        for pid in stack_processes(self.var_dir):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        shutil.rmtree(self.var_dir, ignore_errors=True)
        signal.signal(signal.SIGTERM, self.previous_sigterm)

    def log_tail(self, chars: int = 4000) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-chars:]
        except OSError:
            return ""

    def wait_until_ready(self, timeout: float = 120) -> None:
        """Wait until the site answers /healthz/ with 200 and the pid file names the workers."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise StackError(f"runstack exited with {self.process.returncode}:\n{self.log_tail()}")
            with contextlib.suppress(requests.RequestException, OSError, ValueError):
                if requests.get(f"{self.url}/healthz/", timeout=2).status_code == 200 and len(
                    self.pids()["workers"]
                ) == self.workers:
                    return
            time.sleep(0.2)
        raise StackError(f"the stack did not answer within {timeout} s:\n{self.log_tail()}")

    def pids(self) -> dict:
        """Return runstack's pid file: web, workers, reconciler, redis."""
        return json.loads((self.var_dir / "runstack.pids").read_text())

    def manage_shell(self, code: str, *args: str) -> str:
        """Run `code` (with `args` in sys.argv[1:]) under the stack's settings; return its last line."""
        done = subprocess.run(
            [sys.executable, "-c",
             "import sys, django; django.setup(); sys.argv = sys.argv[1:]; exec(sys.argv[0])", code, *args],
            cwd=ROOT, env={**self.env, "DJANGO_SETTINGS_MODULE": "demosite.settings"},
            capture_output=True, text=True, timeout=120,
        )
        if done.returncode:
            raise StackError(f"a step in the stack's environment failed:\n{done.stderr[-3000:]}")
        return done.stdout.strip().splitlines()[-1]

    def post_csv(self, path: Path) -> requests.Response:
        """POST the file at `path` as a raw `text/csv` body, streamed from disk."""
        with open(path, "rb") as body:
            response = self.session.post(
                f"{self.url}/async/tagging/order/", data=body,
                headers={"Content-Type": "text/csv"}, timeout=600,
            )
        if response.status_code != 202:
            raise StackError(f"the order was refused: {response.status_code} {response.text[:2000]}")
        return response

    def wait_for_order(self, url: str, timeout: float) -> requests.Response:
        """Long-poll the order at `url` (`Prefer: wait=10`) until it is no longer pending."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            response = self.session.get(url, headers={"Prefer": "wait=10"}, timeout=60)
            if response.status_code != 202:
                return response
            if "Preference-Applied" not in response.headers:
                time.sleep(0.05)  # every long-poll slot is taken: poll instead
        raise StackError(f"the order {url} did not finish within {timeout} s")

    def order_facts(self, order_id: str) -> dict:
        """Return the order's parts and phase times, read from the database after it finished."""
        return json.loads(self.manage_shell(ORDER_CODE, order_id))


def stop_on_sigterm(signum: int, frame) -> None:
    """Turn SIGTERM into SystemExit, so that the `with` blocks clean up as they do on Ctrl-C."""
    raise SystemExit(128 + signum)


def stack_processes(var_dir: Path) -> set[int]:
    """Return the live processes started for the stack that uses `var_dir`, found through /proc."""
    marker = f"ASYNCREST_VAR_DIR={var_dir}".encode()
    found = set()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            environ = (entry / "environ").read_bytes().split(b"\0")
            command = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        # redis-server writes its process title over its environment, but the title names var_dir.
        if marker in environ or str(var_dir) in command:
            found.add(int(entry.name))
    return found


def children(pid: int) -> list[int]:
    """Return the child processes of `pid` (all its threads'), or [] if it is gone."""
    found = []
    with contextlib.suppress(OSError):
        for task in Path(f"/proc/{pid}/task").iterdir():
            with contextlib.suppress(OSError):
                found += [int(child) for child in (task / "children").read_text().split()]
    return found


def descendants(pid: int) -> list[int]:
    """Return `pid` and all the processes below it."""
    found, pending = [], [pid]
    while pending:
        current = pending.pop()
        found.append(current)
        pending += children(current)
    return found


def memory_kib(pid: int) -> tuple[int, int]:
    """Return the (VmRSS, VmHWM) of `pid` in KiB, or (0, 0) if it is gone."""
    values = {}
    with contextlib.suppress(OSError, ValueError):
        with open(f"/proc/{pid}/status") as status:
            for line in status:
                if line.startswith(("VmRSS:", "VmHWM:")):
                    name, value = line.split(":", 1)
                    values[name] = int(value.split()[0])
    return values.get("VmRSS", 0), values.get("VmHWM", 0)


@dataclass
class Peak:
    """The largest resident set seen in a group of processes, and the largest before the first sample."""

    kib: int = 0
    before_kib: int | None = None
    processes: int = 0

    def __str__(self) -> str:
        return f"{self.kib / 1024:,.0f} MiB"

    @property
    def before(self) -> str:
        return f"{(self.before_kib or 0) / 1024:,.0f} MiB"


class MemorySampler:
    """Sample the VmHWM (peak resident set) of the stack's processes every `interval` s, in a thread.

    Groups: "worker" (the rqworker processes, as runstack's pid file names them over time),
    "horse" (their children: RQ's scheduler, started by `--with-scheduler`, and the work horses
    of a forking worker class; the default `asyncrest.worker.Worker` runs jobs in its own
    process) and "web" (the
    gunicorn arbiter and its workers). VmHWM is the kernel's own high-water mark of each
    process, so a peak between two samples is not missed; only growth in a work horse's
    last `interval` before it exits can be. `before_kib` is the largest VmRSS at the first
    sample, before the order.
    """

    def __init__(self, stack: Stack, interval: float = 0.1) -> None:
        self.stack = stack
        self.interval = interval
        self.peaks = {"worker": Peak(), "horse": Peak(), "web": Peak()}
        self._seen: dict[str, set[int]] = {name: set() for name in self.peaks}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="memory-sampler", daemon=True)

    def __enter__(self) -> MemorySampler:
        self.sample(first=True)
        self._thread.start()
        return self

    def __exit__(self, *exc_info) -> None:
        self._stop.set()
        self._thread.join()
        self.sample()

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            self.sample()

    def sample(self, first: bool = False) -> None:
        with contextlib.suppress(OSError, ValueError, KeyError):
            pids = self.stack.pids()
            groups = {"worker": list(pids["workers"]), "horse": [], "web": descendants(pids["web"]) + [pid for pid in [pids.get("front_door")] if pid]}
            for worker in pids["workers"]:
                groups["horse"] += [pid for pid in descendants(worker) if pid != worker]
            for name, members in groups.items():
                peak = self.peaks[name]
                for pid in members:
                    rss, hwm = memory_kib(pid)
                    self._seen[name].add(pid)
                    peak.kib = max(peak.kib, hwm)
                    if first:
                        peak.before_kib = max(peak.before_kib or 0, rss)
                peak.processes = len(self._seen[name])
