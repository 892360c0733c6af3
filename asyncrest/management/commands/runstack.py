"""Run the whole stack on one machine: migrate, Redis, the front door and gunicorn, and RQ workers."""
from __future__ import annotations

import json
import os
import signal
import socket
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError

from asyncrest import conf
from asyncrest.broker.embedded import EmbeddedRedis, EmbeddedRedisError
from asyncrest.management.processes import (
    COLD_STOP_TIMEOUT, MAX_BACKOFF, POLL_INTERVAL, STABLE_AFTER, STOP_SIGNALS, STOP_TIMEOUT, Child, answers,
    clean_up_after, default_web_workers, describe_exit, die_with, queue_redis_url, redacted, web_socket_path,
    accepts, check_port_free, child_env,
)

class Command(BaseCommand):
    access_log = False  # gunicorn's line per request (--access-log)
    help = (
        "Run migrate, Redis (REDIS_URL, or an embedded redis-server with its data in var/), "
        "the gunicorn web server behind a front door that reads requests whole, and N RQ workers; "
        "Ctrl-C stops them all. The pids are written to var/runstack.pids (JSON) while it runs."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("--host", default="127.0.0.1", help="Address to serve on.")
        parser.add_argument("--port", type=int, default=8000, help="Port to serve on.")
        parser.add_argument("--workers", type=int, default=1, help="Number of RQ workers.")
        parser.add_argument(
            "--web-workers", type=int, default=None,
            help="gunicorn worker processes (default: $WEB_CONCURRENCY, else 2 per core plus 1).",
        )
        parser.add_argument(
            "--web-threads", type=int, default=4,
            help="Threads per gunicorn worker; a long poll holds one while it waits (default: 4).",
        )
        parser.add_argument("--header-timeout", type=float, default=10.0,
                            help="Seconds a client has to send a request's line and headers (default: 10).")
        parser.add_argument("--no-migrate", action="store_false", dest="migrate", help="Do not run migrate first.")
        parser.add_argument("--access-log", action="store_true", help="Print gunicorn's line for every request.")

    def handle(self, *args, host: str, port: int, workers: int, migrate: bool, **options) -> None:
        if workers < 0:
            raise CommandError("--workers must be 0 or more.")
        web_workers = options.get("web_workers")
        self.web_workers = default_web_workers() if web_workers is None else web_workers
        self.web_threads = options["web_threads"]
        self.access_log = options.get("access_log", False)
        if self.web_workers < 1 or self.web_threads < 1:
            raise CommandError("--web-workers and --web-threads must be 1 or more.")
        self.var_dir = Path(getattr(settings, "VAR_DIR", "var"))
        self.pid_file = self.var_dir / "runstack.pids"
        self.embedded: EmbeddedRedis | None = None
        self.redis_started_at, self.redis_restarts = time.monotonic(), 0
        self.web: Child | None = None
        self.front_door: Child | None = None
        self.workers: list[Child] = []
        self.reconciler: Child | None = None
        self.signals = 0
        if migrate:
            call_command("migrate", interactive=False, verbosity=options["verbosity"])

        # Handle stop requests ourselves from here on, so nothing is left half-started.
        previous = {signum: signal.signal(signum, self.request_stop) for signum in STOP_SIGNALS}
        try:
            clean_up_after(self.pid_file, self.stderr.write)
            check_port_free(host, port)
            redis_url = self.start_redis()
            env = child_env(redis_url)
            bind = f"[{host}]" if ":" in host else host
            self.web_socket = web_socket_path(self.var_dir)
            self.web = Child("web server", self.get_web_command(f"unix:{self.web_socket}"), env)
            for number in range(1, workers + 1):
                self.workers.append(Child(f"worker {number}", self.get_worker_command(), env))
            self.reconciler = Child("reconciler", self.get_reconciler_command(), env)
            self.write_pid_file()
            if self.start_front_door(host, port, f"{bind}:{port}", options, env):
                self.stdout.write(
                    f"asyncrest is running\n"
                    f"  site     http://{bind}:{port}/ (front door, then gunicorn: {self.web_workers} "
                    f"processes x {self.web_threads} threads)\n"
                    f"  redis    {redacted(redis_url)}{' (embedded)' if self.embedded else ''}\n"
                    f"  workers  {workers} on queue {conf.get('QUEUE')!r}, reconciler every "
                    f"{conf.get('RECONCILE_INTERVAL')} s\n"
                    f"Ctrl-C to stop."
                )
                self.supervise()
        finally:
            self.stop_all()
            for signum, handler in previous.items():
                signal.signal(signum, handler)
        self.stdout.write("Stopped.")

    def request_stop(self, signum: int, frame) -> None:
        """Ask the supervision loop to stop; a second request skips the graceful wait."""
        self.signals += 1

    def start_redis(self) -> str:
        """Return the URL of the Redis to use, starting an embedded one if nothing answers there.

        The URL is REDIS_URL if set, else the `URL` of the queue's entry in RQ_QUEUES. A Redis
        that answers there is used as it is; if none does and the URL is a unix socket or
        a local port, an embedded redis-server is started on it, its data in var/redis/.
        """
        explicit = os.environ.get("REDIS_URL")
        url = explicit or queue_redis_url(conf.get("QUEUE"))
        if answers(url):
            return url
        if explicit:
            raise CommandError(
                f"REDIS_URL={redacted(url)} does not answer. Start that Redis, or unset REDIS_URL "
                "to run an embedded one."
            )
        parts = urlsplit(url)
        if parts.scheme == "unix":
            where = {"unix_socket": parts.path}
        elif parts.hostname in ("127.0.0.1", "localhost") and parts.port:
            where = {"port": parts.port}
        else:
            raise CommandError(
                f"Nothing answers at {redacted(url)}, and an embedded Redis cannot be run there: "
                "use a unix:// or local redis:// URL in RQ_QUEUES, or start that Redis yourself."
            )
        self.embedded = EmbeddedRedis(self.var_dir / "redis", appendonly=True, preexec_fn=die_with(os.getpid()),
                                      **where)
        try:
            self.embedded.start()
        except EmbeddedRedisError as exc:
            raise CommandError(str(exc)) from exc
        self.redis_started_at = time.monotonic()
        return url

    def get_web_command(self, bind: str) -> list[str]:
        try:
            import gunicorn.config
        except ImportError as exc:
            raise CommandError(
                "runstack serves the site with gunicorn, which is not installed: pip install 'asyncrest[stack]'."
            ) from exc
        # The project's WSGI_APPLICATION, with REMOTE_ADDR set from what the front door saw.
        command = [
            sys.executable, "-m", "gunicorn", "asyncrest.frontdoor.wsgi:application",
            "--bind", bind, "--workers", str(self.web_workers), "--threads", str(self.web_threads),
            "--worker-class", "gthread", "--graceful-timeout", "20", *(["--access-logfile", "-"] if self.access_log else []),
            "--keep-alive", "5",  # longer than the front door keeps an idle connection to it (1 s)
        ]
        # gunicorn >= 25.1 opens a control socket at one path per user and unlinks whatever
        # is there: keep each stack's in its own var/ so two stacks do not take over each other's.
        if hasattr(gunicorn.config, "ControlSocket"):
            command += ["--control-socket", str(self.var_dir / "gunicorn.ctl")]
        return command

    def get_front_door_command(self, bind: str, options: dict) -> list[str]:
        # The engine's own limits decide; the front door only refuses what is over all of them.
        limits = [conf.get("MAX_BODY_SIZE"), conf.get("MAX_UPLOAD_SIZE")]
        max_body = ["--max-body", str(max(limits) + 1024 * 1024)] if all(limits) else []
        return [
            sys.executable, "-m", "asyncrest.frontdoor", "--bind", bind, "--upstream", f"unix:{self.web_socket}",
            "--header-timeout", str(options["header_timeout"]), *max_body,
        ]

    def get_worker_command(self) -> list[str]:
        # --with-scheduler: RQ's scheduler moves the jobs of retries to their queue when they are due.
        return [sys.executable, "-m", "django", "rqworker", conf.get("QUEUE"), "--worker-class", conf.get("WORKER_CLASS"),
                "--with-scheduler"]

    def get_reconciler_command(self) -> list[str]:
        return [sys.executable, "-m", "django", "reconcile", "--loop"]

    def start_front_door(self, host: str, port: int, bind: str, options: dict, env: dict) -> bool:
        """Start the front door once gunicorn listens, and wait until it listens too (so the port
        answers only when the site can); return False if asked to stop meanwhile."""
        if not self.wait_until(lambda: accepts(socket.AF_UNIX, str(self.web_socket)),
                               "The web server is not listening on its socket."):
            return False
        self.front_door = Child("front door", self.get_front_door_command(bind, options), env)
        self.write_pid_file()
        address = {"0.0.0.0": "127.0.0.1", "::": "::1", "": "127.0.0.1"}.get(host, host)
        return self.wait_until(lambda: accepts(socket.AF_INET6 if ":" in address else socket.AF_INET, (address, port)),
                               f"The front door is not listening on {host}:{port}.")

    def wait_until(self, connect, failure: str, timeout: float = 60.0) -> bool:
        deadline = time.monotonic() + timeout
        while not self.signals:
            self.check_essentials()
            try:
                connect()
                return True
            except OSError as exc:
                if time.monotonic() > deadline:
                    raise CommandError(failure) from exc
                time.sleep(0.2)
        return False

    def supervised(self) -> list[Child]:
        """Return the children that are restarted when they exit: workers and the reconciler."""
        return [*self.workers, *([self.reconciler] if self.reconciler else [])]

    def supervise(self) -> None:
        """Restart workers that exit until a stop is requested or an essential process dies."""
        while not self.signals:
            time.sleep(POLL_INTERVAL)
            self.check_essentials()
            now = time.monotonic()
            for worker in self.supervised():
                if worker.alive():
                    continue
                if worker.restart_at is None:
                    # Back off exponentially while a worker keeps dying young.
                    young = now - worker.started_at < STABLE_AFTER
                    worker.delay = min(max(worker.delay * 2, 1.0), MAX_BACKOFF) if young else 0.0
                    worker.restart_at = now + worker.delay
                    self.stderr.write(
                        f"{worker.name} (pid {worker.pid}) {worker.describe_exit()}; "
                        f"restarting it in {worker.delay:.0f} s."
                    )
                elif now >= worker.restart_at:
                    worker.restart_at = None
                    worker.start()
                    self.write_pid_file()

    def check_essentials(self) -> None:
        """Start the embedded Redis again if it died (its AOF keeps the queues); raise if it cannot, or the web server died."""
        if self.embedded and not self.embedded.running:
            exit_ = describe_exit(self.embedded.returncode)
            young = time.monotonic() - self.redis_started_at < STABLE_AFTER
            self.redis_restarts = self.redis_restarts + 1 if young else 1
            if self.redis_restarts > 3:
                raise CommandError(
                    f"The embedded Redis {exit_}, three times in a row right after starting; stopping "
                    f"everything. Its log ends with:\n{self.embedded.log_tail()}"
                )
            self.stderr.write(f"The embedded Redis {exit_}; starting it again.")
            try:
                self.embedded.start()
            except EmbeddedRedisError as exc:
                raise CommandError(f"The embedded Redis cannot be started again: {exc}") from exc
            self.redis_started_at = time.monotonic()
            self.write_pid_file()
        for essential in (self.web, self.front_door):
            if essential and not essential.alive():
                raise CommandError(f"The {essential.name} {essential.describe_exit()}; stopping everything.")

    def stop_all(self) -> None:
        """Stop web and workers gracefully, then forcefully, and then the embedded Redis."""
        children = [child for child in [self.front_door, self.web, *self.supervised()] if child]
        if any(child.alive() for child in children):
            self.stdout.write("Stopping: running jobs may finish first (Ctrl-C again to hurry)...")
        self.signal_and_wait(children, signal.SIGTERM, STOP_TIMEOUT, interruptible=True)
        # A second SIGTERM makes an RQ worker kill its work horse, which runs in its own process
        # group out of our reach, before exiting (cold shutdown).
        self.signal_and_wait(children, signal.SIGTERM, COLD_STOP_TIMEOUT)
        for child in children:
            if child.alive():
                self.stderr.write(f"{child.name} (pid {child.pid}) did not stop; killing it.")
            # Also sweeps the group of an arbiter that died and left its gunicorn workers behind.
            child.send(signal.SIGKILL)
            child.process.wait()
        if self.embedded:
            self.embedded.stop()
        if self.web:  # else the file, if any, is another runstack's
            self.pid_file.unlink(missing_ok=True)

    def signal_and_wait(
        self, children: list[Child], signum: int, timeout: float, interruptible: bool = False
    ) -> None:
        """Send `signum` to the live children and wait for them up to `timeout` seconds."""
        signals_before, started = self.signals, time.monotonic()
        for child in children:
            child.send(signum)
        while any(child.alive() for child in children) and time.monotonic() - started < timeout:
            # Another Ctrl-C cuts the wait short, but not within 1.5 s: RQ ignores a signal
            # that follows the previous one within a second.
            hurried = self.signals > signals_before and time.monotonic() - started > 1.5
            if interruptible and hurried:
                return
            time.sleep(0.1)

    def write_pid_file(self) -> None:
        """Record the pids for operators and tests; replaced atomically on each change."""
        pids = {
            "runstack": os.getpid(),
            "front_door": self.front_door.pid if self.front_door else None,
            "web": self.web.pid,
            "workers": [worker.pid for worker in self.workers],
            "reconciler": self.reconciler.pid if self.reconciler else None,
            "redis": self.embedded.pid if self.embedded else None,
        }
        partial = self.pid_file.with_suffix(".tmp")
        partial.write_text(json.dumps(pids))
        partial.replace(self.pid_file)

