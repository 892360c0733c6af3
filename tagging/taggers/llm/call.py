"""The state of one LLM `tag()` call: results, counters, the shared pause and the probe.

All of it lives on one event loop, so plain attributes need no locks.
"""
from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Sequence
from typing import Any

from ..base import Usage


class Call:
    """The state of one `tag()` call: results so far, counters, the shared pause and the probe."""

    def __init__(self, texts: Sequence[str], client: Any, max_concurrency: int) -> None:
        self.texts = texts
        #: The SDK client of this call (its connections belong to this call's event loop).
        self.client = client
        self.semaphore = asyncio.Semaphore(max_concurrency)
        self.tags: dict[int, tuple[str, ...]] = {}
        self.errors: dict[int, str] = {}
        self.requests = self.retries = self.reasks = self.answered = 0
        self.prompt_tokens = self.completion_tokens = 0
        self.in_flight = self.peak_in_flight = 0
        #: Why requests gave up (the last one), for the error of a call that got no answer.
        self.failure: str | None = None
        self.auth_failure: str | None = None
        self.resume_at = 0.0
        #: The request that retries alone while nothing has answered yet (see `fail()`).
        self.prober: object | None = None
        self._open = asyncio.Event()
        self._open.set()
        self._stop = asyncio.Event()

    @property
    def stopped(self) -> bool:
        return self._stop.is_set()

    def stop(self) -> None:
        """Stop every request that has not been sent yet; wake those that wait."""
        self._stop.set()
        self._open.set()

    async def sleep(self, seconds: float) -> None:
        """Sleep for `seconds`, or until the call stops."""
        try:
            await asyncio.wait_for(self._stop.wait(), seconds)
        except TimeoutError:
            pass

    def pause(self, seconds: float) -> None:
        """Hold every request of the call back for `seconds`."""
        self.resume_at = max(self.resume_at, asyncio.get_running_loop().time() + seconds)

    @contextlib.asynccontextmanager
    async def turn(self, request: object) -> AsyncIterator[None]:
        """Wait for a slot, for the probe to settle (unless `request` is the probe) and for any pause."""
        while True:
            if self.prober is not request:
                await self._open.wait()
            await self.semaphore.acquire()
            # Checked again with the slot in hand: a probe may have started while we queued.
            if self._open.is_set() or self.prober is request:
                break
            self.semaphore.release()
        try:
            loop = asyncio.get_running_loop()
            while (left := self.resume_at - loop.time()) > 0 and not self.stopped:
                await self.sleep(left)
            yield
        finally:
            self.semaphore.release()

    def fail(self, request: object) -> None:
        """Note that `request` failed and will retry: before any answer, it becomes the probe."""
        # Until something answers, one failing request retries alone and the others wait
        # for it, so an outage costs one request's attempts, not every request's.
        if not self.answered and self.prober is None:
            self.prober = request
            self._open.clear()

    def settle(self, request: object) -> None:
        """Note that `request` is done (answered or gave up); if it was the probe, let the others go."""
        if self.prober is request:
            self.prober = None
            self._open.set()

    def usage(self) -> Usage:
        """Return what the call spent so far."""
        return Usage(
            requests=self.requests, prompt_tokens=self.prompt_tokens, completion_tokens=self.completion_tokens,
            extra={"retries": self.retries, "reasks": self.reasks},
        )
