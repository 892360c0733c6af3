"""Shared fixtures: a real Redis, a real RQ worker process, users and API clients."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
import redis
from django.conf import settings
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from asyncrest.broker.embedded import EmbeddedRedis

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="session")
def redis_url(tmp_path_factory) -> str:
    """A real Redis: REDIS_URL when set, else an embedded redis-server on a free port."""
    url = os.environ.get("REDIS_URL")
    server = None
    if not url:
        server = EmbeddedRedis(tmp_path_factory.mktemp("redis"), port=0, appendonly=False, save="")
        server.start()
        url = server.url
    settings.RQ_QUEUES = {queue: {**config, "URL": url} for queue, config in settings.RQ_QUEUES.items()}
    yield url
    if server is not None:
        server.stop()


@pytest.fixture
def redis_client(redis_url) -> redis.Redis:
    client = redis.Redis.from_url(redis_url)
    yield client
    client.close()


def worker_env(redis_url: str, queue: str | None = None, extra_env: dict | None = None) -> dict[str, str]:
    """The environment a worker process needs to serve this test session."""
    from django.db import connection

    env = dict(os.environ)
    env.update(
        DJANGO_SETTINGS_MODULE="tests.settings",
        REDIS_URL=redis_url,
        ASYNCREST_TEST_QUEUE=queue or settings.ASYNCREST["QUEUE"],
        ASYNCREST_TEST_DB_NAME=str(connection.settings_dict["NAME"]),
        PYTHONUNBUFFERED="1",
    )
    env.update(extra_env or {})
    return env


class WorkerProcess:
    """An `rqworker` process of a test queue, started and stopped by the tests.

    `extra_env` reaches the worker's settings (see tests/settings.py), e.g. to turn its
    reconciler on or to choose another tagger.
    """

    def __init__(
        self, redis_url: str, log_path: Path, queue: str | None = None, extra_env: dict | None = None,
        worker_class: str = "asyncrest.worker.Worker", scheduler: bool = True,
    ):
        self.worker_class = worker_class
        self.scheduler = scheduler
        self.redis_url = redis_url
        self.log_path = log_path
        self.queue = queue
        self.extra_env = extra_env
        self.name = ""
        self.process: subprocess.Popen | None = None

    @property
    def pid(self) -> int:
        return self.process.pid

    def start(self) -> WorkerProcess:
        from rq import Worker

        queue = self.queue or settings.ASYNCREST["QUEUE"]
        name = self.name = f"test-worker-{os.getpid()}-{time.monotonic_ns()}"
        with open(self.log_path, "ab") as log:
            self.process = subprocess.Popen(
                [sys.executable, "manage.py", "rqworker", queue, "--name", name,
                 "--worker-class", self.worker_class, *(["--with-scheduler"] if self.scheduler else [])],
                cwd=ROOT, env=worker_env(self.redis_url, queue, self.extra_env),
                stdout=log, stderr=subprocess.STDOUT,
                # A group of its own: `stop()` ends what it forked too (RQ's scheduler, a horse).
                start_new_session=True,
            )
        connection = redis.Redis.from_url(self.redis_url)
        deadline = time.monotonic() + 30
        while not any(w.name == name for w in Worker.all(connection=connection)):
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"the test worker did not start:\n{self.log_path.read_text()[-3000:]}")
            time.sleep(0.1)
        return self

    def horse_pid(self) -> int | None:
        """Return the pid of the work horse running a job, if any (not the worker's RQ scheduler)."""
        try:
            children = [int(pid) for pid in Path(f"/proc/{self.pid}/task/{self.pid}/children").read_text().split()]
        except OSError:
            return None
        connection = redis.Redis.from_url(self.redis_url)
        try:
            schedulers = {int(connection.hget(key, "pid") or 0) for key in connection.scan_iter("rq:scheduler:*")
                          if connection.type(key) == b"hash"}
        finally:
            connection.close()
        horses = [pid for pid in children if pid not in schedulers]
        return horses[-1] if horses else None

    def kill(self) -> None:
        """Kill the worker with SIGKILL, as a crash or an OOM kill would (its horse lives on)."""
        self.process.kill()
        self.process.wait()

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        if self.process:
            try:  # what outlived a killed worker: its scheduler process, a horse
                os.killpg(self.process.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass


@pytest.fixture(scope="session")
def worker(redis_url, django_db_setup, django_db_blocker, tmp_path_factory):
    """One real RQ worker process for the session, on the test database and queue."""
    process = WorkerProcess(redis_url, tmp_path_factory.mktemp("worker") / "worker.log").start()
    yield process
    process.stop()


def start_private_worker(settings, redis_url: str, log_path: Path, prefix: str, **extra_env: str) -> WorkerProcess:
    """Start a worker on a queue of its own and make that queue the site's for the test."""
    queue = f"{prefix}-{uuid.uuid4().hex[:8]}"
    settings.RQ_QUEUES = {**settings.RQ_QUEUES, queue: {"URL": redis_url}}
    settings.ASYNCREST = {**settings.ASYNCREST, "QUEUE": queue}
    return WorkerProcess(redis_url, log_path, queue=queue, extra_env=extra_env).start()


@pytest.fixture
def user(django_user_model):
    return django_user_model.objects.create_user("alice", password="alice-password")


@pytest.fixture
def other_user(django_user_model):
    return django_user_model.objects.create_user("bob", password="bob-password")


def token_client(user) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=user).key}")
    return client


@pytest.fixture
def api(user) -> APIClient:
    """An API client authenticated with alice's token."""
    return token_client(user)


@pytest.fixture
def other_api(other_user) -> APIClient:
    """An API client authenticated with bob's token."""
    return token_client(other_user)


def wait_for_order(client: APIClient, url: str, *, until=("completed", "failed", "cancelled"), timeout: float = 30):
    """Poll the order at `url` until its status is one of `until`; return the last response."""
    deadline = time.monotonic() + timeout
    while True:
        response = client.get(url)
        if response.json()["status"] in until:
            return response
        if time.monotonic() > deadline:
            raise AssertionError(f"order still {response.json()['status']} after {timeout} s: {response.json()}")
        time.sleep(0.05)


@pytest.fixture
def engine_alone(settings):
    """The site without its own middleware: what the engine does by itself, as in any host project."""
    settings.MIDDLEWARE = [name for name in settings.MIDDLEWARE if not name.startswith("demosite.")]


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """Show the end of the session worker's log with a failure of a test that used it."""
    outcome = yield
    report = outcome.get_result()
    process = item.funcargs.get("worker") if report.failed and report.when == "call" else None
    if isinstance(process, WorkerProcess) and process.log_path.exists():
        lines = process.log_path.read_text(errors="replace").splitlines()[-80:]
        report.sections.append(("session worker log, last lines", "\n".join(lines)))
