"""Heartbeats: proof, written to the database, that an execution is still alive."""
from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable

from django.db import connection

from .. import conf

logger = logging.getLogger("asyncrest.jobs")


class Heartbeat:
    """Call `beat()` every HEARTBEAT_INTERVAL while the block runs, from the process's one beating thread.

    `beat()` returns False once there is nothing left to keep alive (finished, cancelled or
    taken over), which ends this execution's beats early. The thread is started on first use
    and serves every execution of the process (a forked work horse starts its own), so a job
    that ends before its first beat is due costs no thread start and no join.
    """

    def __init__(self, beat: Callable[[], bool], *, name: str, interval: float | None = None) -> None:
        self.beat, self.name = beat, name
        self.interval = conf.get("HEARTBEAT_INTERVAL") if interval is None else interval

    def __enter__(self) -> Heartbeat:
        beater().add(self)
        return self

    def __exit__(self, *exc_info) -> None:
        beater().remove(self)


class Beater:
    """The thread that beats, each when due, for the executions in hand."""

    def __init__(self) -> None:
        self.pid = os.getpid()
        self.changed = threading.Condition()
        self.due: dict[Heartbeat, float] = {}
        self.beating: Heartbeat | None = None
        self.thread = threading.Thread(target=self.run, name="asyncrest heartbeats", daemon=True)
        self.thread.start()

    def add(self, heartbeat: Heartbeat) -> None:
        with self.changed:
            self.due[heartbeat] = time.monotonic() + heartbeat.interval
            self.changed.notify_all()

    def remove(self, heartbeat: Heartbeat) -> None:
        """Stop beating for `heartbeat`, waiting for a beat of it in progress: none comes after the block."""
        with self.changed:
            self.due.pop(heartbeat, None)
            while self.beating is heartbeat:
                self.changed.wait()

    def next_due(self) -> Heartbeat:
        with self.changed:
            while True:
                now = time.monotonic()
                heartbeat, when = min(self.due.items(), key=lambda item: item[1], default=(None, None))
                if heartbeat is not None and when <= now:
                    self.due[heartbeat] = now + heartbeat.interval
                    self.beating = heartbeat
                    return heartbeat
                self.changed.wait(None if when is None else when - now)

    def run(self) -> None:
        while True:
            heartbeat = self.next_due()
            alive = True
            try:
                connection.close_if_unusable_or_obsolete()  # this thread's own connection, kept between beats
                alive = heartbeat.beat()
            except Exception:  # a database hiccup must not kill the job; the next beat retries
                logger.warning("%s: heartbeat failed", heartbeat.name, exc_info=True)
                connection.close()
            finally:
                with self.changed:
                    self.beating = None
                    if not alive:
                        self.due.pop(heartbeat, None)
                    self.changed.notify_all()


_beater: Beater | None = None
_lock = threading.Lock()


def _forget_in_child() -> None:
    """A forked child has none of its parent's threads: it starts its own beater (and lock)."""
    global _beater, _lock
    _beater, _lock = None, threading.Lock()


os.register_at_fork(after_in_child=_forget_in_child)


def beater() -> Beater:
    """Return this process's beating thread, starting it on first use (and anew in a forked child)."""
    global _beater
    with _lock:
        if _beater is None or _beater.pid != os.getpid():
            _beater = Beater()
        return _beater
