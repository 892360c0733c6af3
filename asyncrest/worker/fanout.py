"""Fan-out: split an order into parts that any number of workers run side by side.

A job returns `fan_out(order, inputs, part=..., then=...)` instead of its resource. The
runner then stores one Part per input and enqueues a job for each; the order stays
`running` (with the `FANOUT_LEASE`) and its `processed` is the sum of its parts'. When
the last part completes, `then(order)` is called once and its return value becomes the
order's resource.

The rule for failures: a part that raises fails the whole order with the part's error
(the other parts stop at their next progress step). Problems that should not fail the
order, such as unusable rows, are the part's to record as data.
"""
from __future__ import annotations

import logging
import traceback
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from django.db import close_old_connections, transaction
from django.utils.module_loading import import_string

from .. import lifecycle
from ..models import FANOUT_LEASE, Order, Part, Status
from ..registry import get_resource, importable_path
from .context import RunningOrder, RunningPart
from .errors import JobError, OrderCancelled, describe_failure, fail_on_error, is_infrastructure_fault
from .heartbeat import Heartbeat
from .retrying import schedule_part_retry
from .tolerance import fail_if_over_tolerance, tolerates
from .results import resource_path

logger = logging.getLogger("asyncrest.jobs")


@dataclass(frozen=True, slots=True, kw_only=True)
class FanOut:
    """What a job returns to have its remaining work done in parts."""

    part: str
    then: str
    inputs: tuple[dict, ...]
    totals: tuple[int, ...]
    message: str = ""


def fan_out(
    order,
    inputs: Iterable[dict],
    *,
    part: Callable | str,
    then: Callable | str,
    totals: Iterable[int] | None = None,
    message: str = "",
) -> FanOut:
    """Return this from a job to run `part(order, part)` once per input, then `then(order)`.

    `part` and `then` are module-level functions, or their dotted paths: they run on other
    workers, which import them by that path (a `ValueError` says which one cannot be).
    `totals` are the units of work per part, for the order's progress.
    """
    inputs = tuple(inputs)
    totals = tuple(totals) if totals is not None else tuple(1 for _ in inputs)
    if len(totals) != len(inputs):
        raise ValueError("fan_out() needs one total per input")
    return FanOut(part=importable_path(part, what="part"), then=importable_path(then, what="then"),
                  inputs=inputs, totals=totals, message=message)


def fan_out_failed(order, *, message: str = "") -> FanOut:
    """For the retry of a fanned-out order (`order.retry_of`), the parts of the original that did not
    complete (failed, or cancelled before they did), with their functions, inputs and totals.

    Return it from the job to redo just those. Items that a completed part reported failed
    (`part.report_failures`) are the job's own to find and redo. Raises `JobError` if the
    original has no parts to redo.
    """
    if not order.retry_of:
        raise ValueError("fan_out_failed() is for an order that retries another (order.retry_of)")
    parts = list(Part.objects.filter(order_id=order.retry_of).exclude(status=Status.COMPLETED).order_by("index")
                 .values_list("func", "then", "input", "total"))
    if not parts:
        raise JobError("The order it retries has no unfinished parts to redo.", code="nothing_to_retry")
    return FanOut(part=parts[0][0], then=parts[0][1], inputs=tuple(row[2] for row in parts),
                  totals=tuple(row[3] or 0 for row in parts), message=message)


def start_parts(order: RunningOrder, fan: FanOut) -> None:
    """Store the parts of `order`, hand the order to them and enqueue them (idempotent)."""
    from ..broker.dispatch import enqueue_part

    with transaction.atomic():
        Part.objects.bulk_create(
            [
                Part(order_id=order.id, index=index, func=fan.part, then=fan.then, input=data, total=total)
                for index, (data, total) in enumerate(zip(fan.inputs, fan.totals, strict=True))
            ],
            ignore_conflicts=True,  # a re-run of the job finds its parts already there
        )
        if not lifecycle.hand_to_parts(order.id, order.lease, total=sum(fan.totals), message=fan.message):
            raise OrderCancelled(f"order {order.id} is no longer held by this execution")
        waiting = list(Part.objects.filter(order_id=order.id, status=Status.QUEUED).select_related("order"))
        transaction.on_commit(lambda: [enqueue_part(part) for part in waiting])
    logger.info("order %s resource=%s fanned out into %s parts", order.id, order.resource, len(fan.inputs))
    finish_if_last(order.id, then=fan.then)  # nothing left to run: no inputs, or a re-run after the parts


def run_part(part_id: int) -> None:
    """Run one part of a fanned-out order (the RQ job of a part)."""
    close_old_connections()
    try:
        execute_part(part_id)
    finally:
        close_old_connections()


def execute_part(part_id: int) -> None:
    """Claim part `part_id`, run its function with a `RunningOrder` and a `RunningPart`, and finish it."""
    lease = uuid.uuid4().hex
    if not lifecycle.claim_part(part_id, lease):
        row = Part.objects.filter(pk=part_id).values_list("order_id", flat=True).first()
        if row is not None:
            settle_cancel(row)
        return
    row = Part.objects.select_related("order").get(pk=part_id)
    part = RunningPart.from_row(row, lease)
    # The order as the part sees it: fenced by the fan-out lease, which only parts hold.
    order = RunningOrder.from_row(row.order, FANOUT_LEASE)
    resource = get_resource(order.resource)
    tolerated = False
    try:
        with Heartbeat(lambda: lifecycle.heartbeat_part(part.id, lease), name=str(part)):
            with fail_on_error(order, "A part of the job failed", code="job_failed"):
                try:
                    import_string(row.func)(order, part)
                except OrderCancelled:
                    raise
                except Exception as exc:
                    if (is_infrastructure_fault(exc) and hand_back_part(part, row.attempts, order, exc)) or \
                            schedule_part_retry(part, row.attempts, order, exc):
                        raise OrderCancelled(f"{part} was handed back for a retry") from exc
                    if resource is not None and resource.tolerates():
                        tolerated = tolerate_part_failure(part, order, exc)
                    else:
                        # The part first, then (by fail_on_error) the order: whoever sees the
                        # order failed finds the part that failed it.
                        code = exc.code if isinstance(exc, JobError) else "job_failed"
                        if not lifecycle.finish_part(part.id, lease, Status.FAILED, error_code=code,
                                                     error_message=str(exc)[:2000]):
                            # A run presumed dead, whose part another run holds now: it changes nothing.
                            raise OrderCancelled(f"{part} is no longer held by this run") from exc
                        raise
    except OrderCancelled:
        lifecycle.finish_part(part.id, lease, Status.CANCELLED)
        settle_cancel(order.id)
        return
    if tolerated or lifecycle.finish_part(part.id, lease, Status.COMPLETED):
        finish_if_last(order.id, tolerant=resource is not None and resource.tolerates())


def tolerate_part_failure(part: RunningPart, order: RunningOrder, exc: BaseException) -> bool:
    """Fail `part` alone, its items counted as failed, unless that takes the order past what it tolerates.

    The part keeps what the client may read of the failure (as an order's error would) and
    its traceback. True if the order runs on; raises OrderCancelled if this run no longer holds
    the part, or once it has failed the order.
    """
    code, text = describe_failure(exc, f"Part {part.index + 1} failed", "job_failed")
    detail = "".join(traceback.format_exception(exc))
    if not lifecycle.fail_part_tolerated(part.id, part.lease, error_code=code, error_message=text, error_detail=detail):
        raise OrderCancelled(f"{part} is no longer held by this run") from exc
    logger.warning("%s failed (%s), tolerated: %s", part, code, text)
    if fail_if_over_tolerance(order.id):
        raise OrderCancelled(f"{part} took its order past the failures it tolerates") from exc
    return True


def hand_back_part(part: RunningPart, attempts: int, order: RunningOrder, exc: BaseException) -> bool:
    """Hand a part that met an infrastructure fault back for another attempt; False if it is on its last."""
    from datetime import timedelta

    from django.utils import timezone

    resource = get_resource(order.resource)
    if attempts >= (resource.get_max_attempts() if resource else 1):
        return False
    try:
        wait = resource.get_retry().delay(attempts)
        lifecycle.release_part(part.id, part.lease, timezone.now() + timedelta(seconds=wait))
    except Exception:  # the database itself is away: the reconciler finds the part's heartbeat stopped
        logger.warning("%s: not handed back after %s", part, type(exc).__name__, exc_info=True)
    logger.warning("%s handed back for a retry after %s", part, type(exc).__name__)
    return True


def finish_if_last(order_id, then: str | None = None, *, tolerant: bool | None = None) -> None:
    """Complete the order with `then(order)` if all its parts have completed (once, whoever calls).

    `then` defaults to the one stored with the parts; an order without parts must pass it.
    `tolerant` says whether its resource tolerates failed parts (read from the order if None).
    """
    parts = Part.objects.filter(order_id=order_id)
    # Failed parts count as done where failures are tolerated (within what is, or the order failed).
    if tolerant is None:
        tolerant = tolerates(order_id)
    done = (Status.COMPLETED, Status.FAILED) if tolerant else (Status.COMPLETED,)
    if parts.exclude(status__in=done).exists():
        return
    then = then or parts.values_list("then", flat=True).first()
    if then is None:
        return
    # Take the order from its parts, so `then` runs once even if two last parts race here.
    lease = uuid.uuid4().hex
    if not lifecycle.take_from_parts(order_id, lease):
        return
    order = RunningOrder.from_row(Order.objects.get(pk=order_id), lease)
    with Heartbeat(lambda: lifecycle.heartbeat(order.id, lease), name=str(order)):
        with fail_on_error(order, "The job failed while finishing", code="job_failed"):
            url = resource_path(import_string(then)(order))
    if lifecycle.complete(order.id, url, lease=lease):
        lifecycle.log_transition(order, "completed", detail="parts=done")


def settle_cancel(order_id) -> None:
    """Cancel a fanned-out order whose cancel was asked, once none of its parts runs any more."""
    if Part.objects.filter(order_id=order_id, status=Status.RUNNING).exclude(lease="").exists():
        return  # a running part will stop at its next progress step and come back here
    if lifecycle.cancel_parts(order_id):
        order = Order.objects.only("id", "resource", "created_at", "started_at", "finished_at").get(pk=order_id)
        lifecycle.log_transition(order, "cancelled")
