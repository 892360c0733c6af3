"""`ProgressItems`: iterate a job's work items while reporting progress on the order."""
from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator
from typing import Generic, TypeVar

from . import conf
from .errors import OrderCancelled

T = TypeVar("T")


class ProgressItems(Generic[T]):
    """Yield `items`, recording processed/total/progress on `order` as they are consumed.

    An item counts as processed once the loop asks for the next one (or ends). Writes are
    throttled to one per `interval` seconds (setting `PROGRESS_INTERVAL`), so a loop over a
    million rows costs a handful of UPDATEs, not a million. Each write is conditional on the
    order still running, not asked to cancel and held by this execution; when not,
    `OrderCancelled` is raised from the loop, which is where a cancelled job stops.

    `weight(item)` says how many units an item is worth (e.g. `len` for chunks of rows).
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
    ) -> None:
        self.order = order
        self.items = items
        if total is None and hasattr(items, "__len__") and weight is None:
            total = len(items)  # type: ignore[arg-type]
        self.total = total
        self.message = message
        self.weight = weight
        self.interval = conf.get("PROGRESS_INTERVAL") if interval is None else interval
        self.processed = 0
        self._last_write = 0.0

    def __enter__(self) -> ProgressItems[T]:
        self.write()
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is None:
            self.write()

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
        total = self.total if self.total is not None else None
        # `order` is an Order, or a Part of a fanned-out order: each knows where its progress goes.
        if not self.order.report_progress(self.processed, total, self.message):
            raise OrderCancelled(f"{self.order} is no longer running, or was asked to stop")
