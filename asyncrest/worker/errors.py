"""Errors a job can raise, and `fail_on_error`, which records them on the order."""
from __future__ import annotations

import logging
import traceback
from collections.abc import Iterator
from contextlib import contextmanager

from .exceptions import JobError, OrderCancelled, RetryLater, RetryScheduled, describe_failure

__all__ = ["JobError", "OrderCancelled", "RetryLater", "RetryScheduled", "describe_failure", "fail_on_error",
           "hand_back", "is_infrastructure_fault", "record_failure"]

logger = logging.getLogger("asyncrest.jobs")


@contextmanager
def fail_on_error(order, message: str, *, code: str = "job_failed") -> Iterator[None]:
    """Mark `order` failed with `code` and `message` if the block raises, then re-raise.

    A `JobError` keeps its own code, and its text is appended to `message`; any other
    exception is reported with `message` alone, since its text may expose internals.
    The traceback goes to the log and to the order's admin page, never to the API.

    A failure that the order's resource retries (its `Retry(on=...)`, or `RetryLater`)
    hands the order back for a later attempt instead, while attempts are left, and raises
    `RetryScheduled` from it.
    """
    try:
        yield
    except (OrderCancelled, RetryScheduled):
        raise
    except Exception as exc:
        if is_infrastructure_fault(exc) and hand_back(order, exc):
            raise
        from .retrying import schedule_retry

        if schedule_retry(order, exc, message, code):
            raise RetryScheduled(f"{order} will be tried again") from exc
        record_failure(order, exc, message, code)
        raise


def record_failure(order, exc: BaseException, message: str, code: str) -> None:
    """Fail `order` with what `exc` may tell the client (see `describe_failure`); its traceback goes to the
    order's admin page and the log, as the API never shows it. A failure its resource would have
    retried, had attempts been left, says how many were made."""
    from .. import lifecycle
    from .retrying import gave_up

    error_code, text = describe_failure(exc, message, code)
    text += gave_up(order, exc)
    detail = "".join(traceback.format_exception(exc))
    # Only the execution holding the order may fail it (None outside the runner: anyone).
    lease = getattr(order, "lease", "") or None
    if lifecycle.fail(order.pk, error_code, text, detail, lease=lease):
        lifecycle.log_transition(order, "failed", level=logging.ERROR, detail=f"code={error_code}: {text}", exc_info=exc)


def is_infrastructure_fault(exc: BaseException) -> bool:
    """Whether `exc` is Redis or the database being unreachable: nothing the job or its input did wrong."""
    from django.db import InterfaceError, OperationalError
    from redis.exceptions import ConnectionError as RedisConnectionError
    from redis.exceptions import TimeoutError as RedisTimeoutError

    return isinstance(exc, (RedisConnectionError, RedisTimeoutError, OperationalError, InterfaceError))


def hand_back(order, exc: BaseException) -> bool:
    """Hand an order that met an infrastructure fault back for another attempt; False if it is on its last.

    A part's order (held by its parts) is not handed back here: its part is (see fanout).
    """
    from datetime import timedelta

    from django.utils import timezone

    from .. import lifecycle
    from ..registry import get_resource

    lease = getattr(order, "lease", "")
    resource = get_resource(order.resource)
    attempts_left = getattr(order, "attempts", 0) < (resource.get_max_attempts() if resource else 1)
    if not lease or lease == lifecycle.FANOUT_LEASE or not attempts_left:
        return False
    message = f"Interrupted: {type(exc).__name__} ({exc}); retrying."[:255]
    wait = resource.get_retry().delay(order.attempts)
    try:
        released = lifecycle.release(order.pk, lease, message, timezone.now() + timedelta(seconds=wait))
    except Exception:  # the database itself is away: the reconciler finds the order's heartbeat stopped
        logger.warning("order %s: not handed back after %s", order.pk, type(exc).__name__, exc_info=True)
        return True
    if released:
        logger.warning("order %s resource=%s handed back for a retry after %s", order.pk, order.resource,
                       type(exc).__name__)
    return True
