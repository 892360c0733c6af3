"""The log line of an order's status transition: id, resource, status and duration, nothing else."""
from __future__ import annotations

import logging

from django.utils import timezone

# One logger for every transition, wherever it happens (API, worker, reconciler, admin),
# so operators can route or silence order lines apart from the rest.
logger = logging.getLogger("asyncrest.orders")


def log_transition(order, status: str, *, level: int = logging.INFO, detail: str = "", exc_info: bool = False) -> None:
    """Log that `order` moved to `status`, with the seconds spent in the status it left.

    `detail` adds `key=value` facts (an attempt number, an error code). Order input,
    results and credentials never go into these lines: they may hold people's data.
    """
    logger.log(
        level,
        "order %s resource=%s status=%s duration=%.3fs%s",
        order.pk, order.resource, status, duration(order, status), f" {detail}" if detail else "",
        exc_info=exc_info,
    )


def duration(order, status: str) -> float:
    """Return the seconds before `status`: 0 for queued, since placing for running, since the last start for an end."""
    if status == "queued":
        return 0.0
    now = timezone.now()
    started_at, finished_at = getattr(order, "started_at", None), getattr(order, "finished_at", None)
    if status == "running":
        start, end = order.created_at, started_at or now
    else:
        # A finished order that never ran (cancelled or failed while queued) counts from its placing.
        start, end = started_at or order.created_at, finished_at or now
    if start is None:
        return 0.0
    return max(0.0, (end - start).total_seconds())
