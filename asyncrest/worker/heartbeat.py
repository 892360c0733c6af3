"""Heartbeats: proof, written to the database, that an execution is still alive."""
from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from django.db import connection

from .. import conf

logger = logging.getLogger("asyncrest.jobs")


class Heartbeat:
    """Call `beat()` from a background thread every HEARTBEAT_INTERVAL until the block ends.

    `beat()` returns False once there is nothing left to keep alive (finished, cancelled
    or taken over), which ends the thread early.
    """

    def __init__(self, beat: Callable[[], bool], *, name: str, interval: float | None = None) -> None:
        self.beat, self.name = beat, name
        self.interval = conf.get("HEARTBEAT_INTERVAL") if interval is None else interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"heartbeat {name}", daemon=True)

    def __enter__(self) -> Heartbeat:
        self._thread.start()
        return self

    def __exit__(self, *exc_info) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        try:
            while not self._stop.wait(self.interval):
                try:
                    if not self.beat():
                        return
                except Exception:  # a database hiccup must not kill the job; the next beat retries
                    logger.warning("%s: heartbeat failed", self.name, exc_info=True)
        finally:
            connection.close()  # this thread's own connection
