"""Retries of failed jobs: hand the order (or part) back, with its next attempt scheduled.

A failure that the order's resource retries (`Retry(on=...)`, or a `RetryLater` the job
raised) leaves the order `running` without an execution, its `available_at` set to the
time of the next attempt, and puts a job for that attempt on RQ's schedule. The row is
the truth: a scheduled job that Redis lost (restarted without persistence, or down when
the retry was scheduled), or that no RQ scheduler moves to its queue, is delivered by the
reconciler once the attempt is due.
"""
from __future__ import annotations

import logging
from datetime import timedelta

from django.utils import timezone

from .. import lifecycle
from ..models import FANOUT_LEASE
from ..models.parts import part_job_id
from ..registry import get_resource
from .exceptions import RetryLater, describe_failure

logger = logging.getLogger("asyncrest.jobs")


def retryable(resource, exc: BaseException) -> bool:
    """Whether `resource` tries an order again after `exc`."""
    return isinstance(exc, RetryLater) or (resource is not None and resource.get_retry().retries(exc))


def wait_before(resource, exc: BaseException, attempt: int) -> float:
    """Seconds to wait after failed attempt `attempt`: what a `RetryLater` asked, else the policy's backoff."""
    if isinstance(exc, RetryLater) and exc.after is not None:
        return float(exc.after)
    return resource.get_retry().delay(attempt)


def retry_note(text: str, attempt: int, max_attempts: int, wait: float) -> str:
    """The order's message while it waits: what failed, and when the next attempt comes."""
    return f"{text.rstrip('.')}. Attempt {attempt} of {max_attempts} failed; retrying in {wait:.0f} s."


def retry_job_id(order_id, attempt: int) -> str:
    """The RQ job of the attempt after `attempt`: an id of its own, so that it never overwrites the
    job of the attempt still running (RQ keeps one record per id)."""
    return f"{order_id}-retry-{attempt}"


def schedule_retry(order, exc: BaseException, message: str, code: str) -> bool:
    """Hand `order` back for a later attempt if its resource retries `exc` and attempts are left.

    True when the order is no longer this execution's to fail: handed back, or already
    taken from it (cancelled meanwhile). A part's order is never handed back here: its
    part is (see `schedule_part_retry`).
    """
    lease = getattr(order, "lease", "")
    resource = get_resource(order.resource)
    if not lease or lease == FANOUT_LEASE or resource is None or not retryable(resource, exc):
        return False
    max_attempts = resource.get_max_attempts()
    if order.attempts >= max_attempts:
        return False
    wait = wait_before(resource, exc, order.attempts)
    due = timezone.now() + timedelta(seconds=wait)
    error_code, text = describe_failure(exc, message, code)
    coalesced = getattr(order, "reports", None) is not None
    job_id = None if coalesced else retry_job_id(order.id, order.attempts)
    if coalesced:
        keep_usage(order)
    if not lifecycle.release(order.id, lease, retry_note(text, order.attempts, max_attempts, wait), due,
                             job_id=job_id):
        logger.info("order %s: not retried, this execution no longer holds it", order.id)
        return True
    logger.warning("order %s resource=%s attempt %s of %s failed with %s (%s); next attempt in %.1f s",
                   order.id, order.resource, order.attempts, max_attempts, type(exc).__name__, error_code, wait)
    from ..broker.dispatch import schedule_order

    schedule_order(order.id, resource, due, job_id=job_id)
    return True


def schedule_part_retry(part, attempts: int, order, exc: BaseException) -> bool:
    """Hand a part back for a later attempt if its order's resource retries `exc`; False if not."""
    resource = get_resource(order.resource)
    if resource is None or not retryable(resource, exc) or attempts >= resource.get_max_attempts():
        return False
    wait = wait_before(resource, exc, attempts)
    due = timezone.now() + timedelta(seconds=wait)
    if not lifecycle.release_part(part.id, part.lease, due):
        return True  # no longer this run's: whoever holds it now settles it
    logger.warning("%s: attempt %s of %s failed with %s; next attempt in %.1f s", part, attempts,
                   resource.get_max_attempts(), type(exc).__name__, wait)
    from ..broker.dispatch import schedule_part

    schedule_part(part.id, resource, due, job_id=part_job_id(order.id, part.index, attempts))
    return True


def gave_up(order, exc: BaseException) -> str:
    """What a failure message adds when the resource would have retried `exc` but no attempts were left."""
    lease = getattr(order, "lease", "")
    resource = get_resource(order.resource)
    if lease == FANOUT_LEASE or resource is None or not retryable(resource, exc):
        return ""
    attempts = getattr(order, "attempts", 0) or 1
    return f" (gave up after {attempts} attempt{'s' if attempts != 1 else ''})"


def keep_usage(order) -> None:
    """Write what a coalesced order spent on this attempt before it leaves the batch's lease."""
    from ..models import Order

    usage = order.reports.get("usage") if order.reports else None
    if usage:
        Order.objects.filter(pk=order.id, lease=order.lease).update(usage=usage)
