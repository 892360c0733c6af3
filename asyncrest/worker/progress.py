"""`ProgressItems`: iterate a job's work items while reporting progress on the order."""
from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable, Iterator
from typing import Generic, TypeVar

from .. import conf
from .errors import OrderCancelled

T = TypeVar("T")


logger = logging.getLogger("asyncrest.jobs")


class ProgressItems(Generic[T]):
    """Yield `items`, recording processed/total/progress on `order` as they are consumed.

    An item counts as processed once the loop asks for the next one (or ends). Writes are
    throttled to one per `interval` seconds (setting `PROGRESS_INTERVAL`), so a loop over a
    million rows costs a handful of UPDATEs, not a million. The first write comes once the
    first interval has passed, and the block's end writes only what was not written yet:
    a job done within one interval records its progress once, at the end. Each write is
    conditional on the order still running, not asked to cancel and held by this
    execution; when not, `OrderCancelled` is raised from the loop, which is where a
    cancelled job stops.

    `weight(item)` says how many units an item is worth (e.g. `len` for chunks of rows).

    `indeterminate=True` is for a phase whose units are not the order's, such as reading
    an input before a fan-out: the count goes into the message alone ("Reading the file:
    12,000 rows read", with `unit="rows read"`), and `processed`, `total` and `progress`
    stay as they are, so that they never go backwards when the counted work begins.

    `order` is what the job received: a `RunningOrder`, or the `RunningPart` of a part.
    """

    def __init__(
        self,
        order,
        items: Iterable[T],
        *,
        total: int | None = None,
        message: str | None = None,
        weight: Callable[[T], int] | None = None,
        interval: float | None = None,
        indeterminate: bool = False,
        unit: str = "done",
    ) -> None:
        self.order = order
        self.items = items
        self.indeterminate, self.unit = indeterminate, unit
        if total is None and hasattr(items, "__len__") and weight is None and not indeterminate:
            total = len(items)  # type: ignore[arg-type]
        self.total = total
        self.message = message
        self.weight = weight
        self.interval = conf.get("PROGRESS_INTERVAL") if interval is None else interval
        self.processed = 0
        self._last_write = time.monotonic()
        self._written: tuple | None = None

    def __enter__(self) -> ProgressItems[T]:
        self._last_write = time.monotonic()
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if self._state() == self._written:
            return
        if exc_type is None:
            self.write()
        elif not issubclass(exc_type, OrderCancelled) and not self.indeterminate:
            # How far it got before the failure, where a retry (or a tolerated failure) starts from.
            try:
                self.report()
            except Exception:  # the database may be what failed: the failure itself matters more
                logger.debug("%s: progress not written after %s", self.order, exc_type.__name__, exc_info=True)

    def _state(self) -> tuple:
        return self.processed, self.total, self.message

    def __iter__(self) -> Iterator[T]:
        for item in self.items:
            yield item
            self.advance(self.weight(item) if self.weight else 1)

    def advance(self, units: int = 1) -> None:
        """Count `units` more as processed, writing progress if the interval has passed."""
        self.processed += units
        if time.monotonic() - self._last_write >= self.interval:
            self.write()

    def write(self, message: str | None = None) -> None:
        """Record progress now; raise `OrderCancelled` if the order is no longer running."""
        if message is not None:
            self.message = message
        self._last_write = time.monotonic()
        self._written = self._state()
        if not self.report():
            raise OrderCancelled(f"{self.order} is no longer running, or was asked to stop")

    def report(self) -> bool:
        """Write the progress to the order; False if it is no longer running."""
        if self.indeterminate:
            counted = f"{self.processed:,} {self.unit}"
            counted = f"{self.message}: {counted}" if self.message else counted
            return self.order.report_message(counted)
        # A RunningOrder, or the RunningPart of a fanned-out order: each knows where its progress goes.
        return self.order.report_progress(self.processed, self.total, self.message)
