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
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from django.db import close_old_connections, transaction
from django.utils import timezone
from django.utils.module_loading import import_string
from redis.exceptions import RedisError

from . import conf
from .errors import JobError, OrderCancelled, fail_on_error
from .heartbeat import Heartbeat
from .registry import get_resource
from .transitions import log_transition

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

    `part` and `then` are module-level functions (or their dotted paths): they run on
    other workers. `totals` are the units of work per part, for the order's progress.
    """
    inputs = tuple(inputs)
    totals = tuple(totals) if totals is not None else tuple(1 for _ in inputs)
    if len(totals) != len(inputs):
        raise ValueError("fan_out() needs one total per input")
    return FanOut(part=dotted_path(part), then=dotted_path(then), inputs=inputs, totals=totals, message=message)


def dotted_path(func: Callable | str) -> str:
    return func if isinstance(func, str) else f"{func.__module__}.{func.__qualname__}"


def start_parts(order, lease: str, fan: FanOut) -> None:
    """Store the parts of `order`, hand the order to them and enqueue them (idempotent)."""
    from .models import FANOUT_LEASE, Order, Part, Status

    with transaction.atomic():
        Part.objects.bulk_create(
            [
                Part(order_id=order.pk, index=index, func=fan.part, then=fan.then, input=data, total=total)
                for index, (data, total) in enumerate(zip(fan.inputs, fan.totals, strict=True))
            ],
            ignore_conflicts=True,  # a re-run of the job finds its parts already there
        )
        handed = Order.objects.filter(pk=order.pk, status=Status.RUNNING, lease=lease).update(
            lease=FANOUT_LEASE, total=sum(fan.totals), processed=0, progress=0.0,
            message=fan.message[:255], updated_at=timezone.now(),
        )
        if not handed:
            raise OrderCancelled(f"order {order.pk} is no longer held by this execution")
        waiting = list(Part.objects.filter(order_id=order.pk, status=Status.QUEUED))
        transaction.on_commit(lambda: [enqueue_part(part) for part in waiting])
    # From here on only the fan-out lease can fail the order (see fail_on_error).
    order.lease = FANOUT_LEASE
    Order.objects.notify_changed(order.pk, True)
    logger.info("order %s resource=%s fanned out into %s parts", order.pk, order.resource, len(fan.inputs))
    finish_if_last(order, then=fan.then)  # nothing left to run: no inputs, or a re-run after the parts


def enqueue_part(part) -> bool:
    """Put `part` on its resource's queue; False (logged) if Redis cannot take it."""
    from .queues import get_queue

    resource = get_resource(part.order.resource)
    timeout = resource.get_timeout() if resource else conf.get("DEFAULT_TIMEOUT")
    try:
        get_queue(resource.queue if resource else None).enqueue(
            run_part, part.pk, job_id=part.job_id, job_timeout=timeout,
            description=f"part {part.index} of {part.order.resource} order {part.order_id}",
        )
    except RedisError as exc:
        logger.warning("part %s of order %s not enqueued, the reconciler will: %s", part.index, part.order_id, exc)
        return False
    return True


def run_part(part_id: int) -> None:
    """Run one part of a fanned-out order (the RQ job of a part)."""
    close_old_connections()
    try:
        _run_part(part_id)
    finally:
        close_old_connections()


def _run_part(part_id: int) -> None:
    from .models import Part, Status

    lease = uuid.uuid4().hex
    if not Part.objects.claim(part_id, lease):
        part = Part.objects.select_related("order").filter(pk=part_id).first()
        if part is not None and part.order.cancel_requested_at and part.order.status == Status.RUNNING:
            settle_cancel(part.order)
        return
    part = Part.objects.select_related("order").get(pk=part_id)
    order = part.order
    try:
        with Heartbeat(lambda: Part.objects.heartbeat(part.pk, lease), name=f"part {part.index} of {order.pk}"):
            with fail_on_error(order, "A part of the job failed", code="job_failed"):
                try:
                    import_string(part.func)(order, part)
                except OrderCancelled:
                    raise
                except Exception as exc:
                    # The part first, then (by fail_on_error) the order: whoever sees the
                    # order failed finds the part that failed it.
                    code = exc.code if isinstance(exc, JobError) else "job_failed"
                    Part.objects.finish(part.pk, lease, Status.FAILED, error_code=code, error_message=str(exc)[:2000])
                    raise
    except OrderCancelled:
        Part.objects.finish(part.pk, lease, Status.CANCELLED)
        settle_cancel(order)
        return
    if Part.objects.finish(part.pk, lease, Status.COMPLETED):
        finish_if_last(order)


def finish_if_last(order, then: str | None = None) -> None:
    """Complete `order` with `then(order)` if all its parts have completed (once, whoever calls).

    `then` defaults to the one stored with the parts; an order without parts must pass it.
    """
    from .jobs import resource_path
    from .models import FANOUT_LEASE, Order, Part, Status

    parts = Part.objects.filter(order_id=order.pk)
    if parts.exclude(status=Status.COMPLETED).exists():
        return
    then = then or parts.values_list("then", flat=True).first()
    if then is None:
        return
    # Take the order from its parts, so `then` runs once even if two last parts race here.
    lease = uuid.uuid4().hex
    now = timezone.now()
    if not Order.objects.filter(pk=order.pk, status=Status.RUNNING, lease=FANOUT_LEASE).update(
        lease=lease, heartbeat_at=now, updated_at=now
    ):
        return
    order = Order.objects.get(pk=order.pk)
    with Heartbeat(lambda: Order.objects.heartbeat(order.pk, lease), name=f"order {order.pk}"):
        with fail_on_error(order, "The job failed while finishing", code="job_failed"):
            url = resource_path(import_string(then)(order))
    if Order.objects.complete(order.pk, url, lease=lease):
        log_transition(order, "completed", detail="parts=done")


def settle_cancel(order) -> None:
    """Cancel a fanned-out order whose cancel was asked once none of its parts runs any more."""
    from .models import FANOUT_LEASE, Order, Part, Status

    parts = Part.objects.filter(order_id=order.pk)
    if parts.filter(status=Status.RUNNING).exclude(lease="").exists():
        return  # a running part will stop at its next progress step and come back here
    if Order.objects.cancel(order.pk, lease=FANOUT_LEASE):
        parts.filter(status__in=(Status.QUEUED, Status.RUNNING)).update(
            status=Status.CANCELLED, finished_at=timezone.now()
        )
        log_transition(order, "cancelled")
