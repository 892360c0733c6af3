"""The processes `runstack` supervises, and the Redis it finds or starts for them."""
from __future__ import annotations

import ctypes
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from importlib import import_module
from pathlib import Path
from urllib.parse import urlsplit

import redis
from django.conf import settings
from django.core.management.base import CommandError

POLL_INTERVAL = 0.5
STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)
# RQ workers finish their current job on SIGTERM; gunicorn's own graceful timeout is 20 s.
STOP_TIMEOUT = 25.0
# After a second SIGTERM an RQ worker kills its work horse (cold shutdown) and exits.
COLD_STOP_TIMEOUT = 5.0
# A worker that ran this long before exiting was not crash-looping: restart it at once.
STABLE_AFTER = 10.0
MAX_BACKOFF = 30.0
# What a child of runstack is, by its command line: only those are stopped for a dead runstack.
CHILD_COMMANDS = ("rqworker", "gunicorn", "reconcile", "redis-server", "asyncrest.frontdoor")
PR_SET_PDEATHSIG = 1


def die_with(parent: int) -> Callable[[], None]:
    """Return a `preexec_fn` that has the child sent SIGTERM when `parent` dies, however it dies (Linux).

    Without it, a runstack killed with SIGKILL leaves its web server, workers and Redis
    running, holding the port and the data directory.
    """

    def preexec() -> None:
        if sys.platform.startswith("linux"):
            ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
        if os.getppid() != parent:  # the parent died before the request took effect
            os.kill(os.getpid(), signal.SIGTERM)

    return preexec


def alive(pid: int | None) -> bool:
    """Return whether a process `pid` exists (and is not a zombie)."""
    if not pid:
        return False
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()[0]
    except OSError:
        try:
            os.kill(pid, 0)
        except (ProcessLookupError, PermissionError):
            return False
        return True
    return state != "Z"


def command_line(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return ""


def clean_up_after(pid_file: Path, write: Callable[[str], None]) -> None:
    """Stop what a runstack that died left running on this var/, or refuse if that runstack lives."""
    try:
        pids = json.loads(pid_file.read_text())
    except (OSError, ValueError):
        return
    if alive(pids.get("runstack")) and pids.get("runstack") != os.getpid():
        raise CommandError(f"Another runstack (pid {pids['runstack']}) runs on {pid_file.parent}; stop it first.")
    named = [pids.get("front_door"), pids.get("web"), *pids.get("workers", []), pids.get("reconciler"), pids.get("redis")]
    left = [pid for pid in named
            if alive(pid) and any(name in command_line(pid) for name in CHILD_COMMANDS)]
    if left:
        write(f"A runstack that died left {len(left)} processes running ({', '.join(map(str, left))}); stopping them.")
    for signum, wait in ((signal.SIGTERM, STOP_TIMEOUT), (signal.SIGKILL, 5.0)):
        for pid in left:
            try:
                os.kill(pid, signum)
            except ProcessLookupError:
                pass
        deadline = time.monotonic() + wait
        while any(alive(pid) for pid in left) and time.monotonic() < deadline:
            time.sleep(0.1)
    pid_file.unlink(missing_ok=True)


class Child:
    """One supervised process, with what is needed to restart it."""

    def __init__(self, name: str, args: list[str], env: dict[str, str]) -> None:
        self.name, self.args, self.env = name, args, env
        self.delay = 0.0
        self.restart_at: float | None = None
        self.start()

    def start(self) -> None:
        """Start the process in its own session, so a terminal's Ctrl-C reaches only runstack."""
        self.process = subprocess.Popen(
            self.args, env=self.env, stdin=subprocess.DEVNULL, start_new_session=True,
            preexec_fn=die_with(os.getpid()),
        )
        self.started_at = time.monotonic()

    @property
    def pid(self) -> int:
        return self.process.pid

    def alive(self) -> bool:
        """Return whether the process is still running (reaping it if not)."""
        return self.process.poll() is None

    def send(self, signum: int) -> None:
        """Send `signum` to the process; SIGKILL goes to its whole process group."""
        try:
            if signum == signal.SIGKILL:
                os.killpg(self.pid, signum)  # gunicorn's workers die with their arbiter
            elif self.alive():
                self.process.send_signal(signum)
        except ProcessLookupError:
            pass

    def describe_exit(self) -> str:
        return describe_exit(self.process.returncode)


def child_env(redis_url: str) -> dict[str, str]:
    """Return the environment of runstack's children: its own, plus the Redis and settings in use."""
    # The settings package must import in the children wherever runstack was started from.
    top = import_module(settings.SETTINGS_MODULE.partition(".")[0])
    where = list(getattr(top, "__path__", [])) or [top.__file__]  # a package, or a module
    root = str(Path(where[0]).resolve().parent)
    python_path = os.pathsep.join(filter(None, [root, os.environ.get("PYTHONPATH")]))
    return {
        **os.environ,
        "REDIS_URL": redis_url,
        "DJANGO_SETTINGS_MODULE": settings.SETTINGS_MODULE,
        "PYTHONPATH": python_path,
    }


def check_port_free(host: str, port: int) -> None:
    """Raise CommandError if `host:port` is taken, which would fool runstack's wait for its web server."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    try:
        socket.create_server((host, port), family=family).close()
    except OSError as exc:
        raise CommandError(f"Cannot serve on {host}:{port}: {exc.strerror or exc}.") from exc


def accepts(family: int, address) -> None:
    """Connect to `address` and close again; raise OSError if nothing accepts there."""
    with socket.socket(family) as probe:
        probe.settimeout(1.0)
        probe.connect(address)


def web_socket_path(var_dir: Path) -> Path:
    """Return where gunicorn listens for the front door: var/run/web.sock, or a private
    directory of /tmp where that path is over the 107 bytes a unix socket's path may have."""
    path = var_dir.resolve() / "run" / "web.sock"
    if len(os.fsencode(path)) > 100:
        path = Path(tempfile.mkdtemp(prefix="asyncrest-")) / "web.sock"
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    return path


def default_web_workers() -> int:
    """$WEB_CONCURRENCY (as gunicorn and most hosts read it), else gunicorn's rule of thumb,
    2 per core plus 1, up to 9 (each process holds its own copy of Django, some 80 MiB).

    Processes, not threads, are what run Python in parallel; the threads of each serve
    requests that wait (long polls, the database, Redis).
    """
    try:
        return max(1, int(os.environ["WEB_CONCURRENCY"]))
    except (KeyError, ValueError):
        return min(2 * (os.cpu_count() or 1) + 1, 9)


def describe_exit(code: int) -> str:
    """Return how a process with exit status `code` ended, in words."""
    if code < 0:
        return f"was killed by {signal.Signals(-code).name}"
    return f"exited with status {code}"


def redacted(url: str) -> str:
    """Return `url` with any password masked, for printing."""
    parts = urlsplit(url)
    if not parts.password:
        return url
    return parts._replace(netloc=parts.netloc.replace(f":{parts.password}@", ":***@")).geturl()


def queue_redis_url(queue: str) -> str:
    """Return the Redis URL of `queue`'s entry in RQ_QUEUES (its `URL`, or its HOST/PORT/DB/UNIX_SOCKET_PATH)."""
    config = (getattr(settings, "RQ_QUEUES", None) or {}).get(queue)
    if config is None:
        raise CommandError(f"RQ_QUEUES has no {queue!r} entry, the queue asyncrest sends orders to.")
    if config.get("URL"):
        return config["URL"]
    if config.get("UNIX_SOCKET_PATH"):
        return f"unix://{config['UNIX_SOCKET_PATH']}"
    return f"redis://{config.get('HOST', 'localhost')}:{config.get('PORT', 6379)}/{config.get('DB', 0)}"


def answers(url: str) -> bool:
    """Return whether a Redis answers PING at `url`."""
    try:
        with redis.Redis.from_url(url, socket_connect_timeout=3, socket_timeout=3) as client:
            return bool(client.ping())
    except (redis.RedisError, OSError, ValueError):
        return False
