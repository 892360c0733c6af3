"""The drain: one RQ job that runs the waiting coalesced orders of a resource, a batch at a time.

Orders of a resource registered with `coalesce=N` have no RQ job of their own. Placing
one makes sure a drain job of the resource is queued (`broker.dispatch.schedule_drain`);
the drain claims up to N waiting orders under one lease, runs them (all at once through
the resource's `many`, else one by one through its job), and finishes them with one
statement, then takes the next batch, until none waits or DRAIN_SECONDS have passed
(see `run_drain` for how it holds the resource's flag meanwhile).

Each order keeps its own outcome: one that fails is failed alone, and when `many`
raises, the batch is run again order by order, so that the failure lands on the order
that caused it. A worker lost mid-batch stops the batch's heartbeat, and the reconciler
hands each of its orders back for another attempt, as for any order.
"""
from __future__ import annotations

import logging
import time
import uuid

from django.db import close_old_connections
from redis.exceptions import RedisError

from .. import conf, lifecycle
from ..broker.dispatch import DrainFlag, schedule_drain
from ..broker.queues import get_queue
from ..models import Order
from ..registry import Resource, get_resource
from .context import RunningOrder
from .errors import OrderCancelled, fail_on_error, record_failure
from .fanout import FanOut, start_parts
from .heartbeat import Heartbeat
from .results import resource_path
from .retrying import schedule_retry

logger = logging.getLogger("asyncrest.jobs")

#: Outcomes of an order that need nothing more from the batch: already failed, handed back, cancelled or fanned out.
SETTLED = object()


def drain(resource_name: str) -> int:
    """The RQ job: run the waiting coalesced orders of `resource_name`; return how many ran."""
    close_old_connections()
    try:
        return run_drain(resource_name)
    finally:
        close_old_connections()


def run_drain(resource_name: str) -> int:
    """Claim and run batches until none waits (or DRAIN_SECONDS pass); return how many orders ran.

    The drain holds its resource's flag while it runs, so that orders placed meanwhile queue
    no drain job of their own, and releases it just before a last claim: an order that found
    the flag set was committed before that release, so the last claim sees it. After a batch
    that was not full it pauses DRAIN_LINGER, so that a steady trickle of orders runs in
    batches of several, and in one job.
    """
    resource = get_resource(resource_name)
    if resource is None or not resource.coalesce:
        logger.error("drain of %r: no resource of that name coalesces orders", resource_name)
        return 0
    flag = Flag(resource)
    flag.hold()
    started, ran, pause = time.monotonic(), 0, conf.get("DRAIN_LINGER")
    try:
        while True:
            rows = lifecycle.claim_batch(resource.name, uuid.uuid4().hex, resource.coalesce)
            if not rows:
                flag.clear()
                rows = lifecycle.claim_batch(resource.name, uuid.uuid4().hex, resource.coalesce)
                if not rows:
                    return ran
                flag.hold()
            run_batch(resource, rows)
            ran += len(rows)
            if time.monotonic() - started > conf.get("DRAIN_SECONDS"):
                schedule_drain(resource.name, force=True)  # the rest in a fresh job: the queue's other jobs go first
                return ran
            if len(rows) < resource.coalesce and pause:
                time.sleep(pause)
    except BaseException:
        flag.clear()  # orders placed from now on queue a drain of their own; RQ runs this one again
        raise


class Flag:
    """The drain's hold on its resource's `DrainFlag`: a Redis fault is logged, never raised."""

    def __init__(self, resource: Resource) -> None:
        self.resource = resource
        self.flag = DrainFlag(resource.name, drained_queue(resource))

    def hold(self) -> None:
        try:
            self.flag.set()
        except RedisError as exc:  # orders placed meanwhile queue drains of their own
            logger.warning("drain of %s: flag not set (%s)", self.resource.name, exc)

    def clear(self) -> None:
        try:
            self.flag.clear()
        except RedisError as exc:  # the flag expires, and the reconciler delivers what waits
            logger.warning("drain of %s: flag not cleared (%s)", self.resource.name, exc)


def drained_queue(resource: Resource) -> str:
    """The name of the queue this drain was taken from (the resource's, when run outside RQ)."""
    from rq import get_current_job

    job = get_current_job()
    return job.origin if job is not None else get_queue(resource.queue).name


def run_batch(resource: Resource, rows: list[dict]) -> None:
    """Run the claimed `rows` (one lease) and finish each of them."""
    orders = [RunningOrder.from_claimed(row) for row in rows]
    for order in orders:
        lifecycle.log_transition(order, "running", detail=f"attempt={order.attempts} batch={len(orders)}")
    with Heartbeat(lambda: lifecycle.heartbeat_batch(orders[0].lease), name=f"{resource.name} batch"):
        outcomes = run_together(resource, orders) if resource.many else None
        if outcomes is None:
            outcomes = [run_alone(resource, order) for order in orders]
    finish(orders, outcomes, {row["id"]: row["callback_url"] for row in rows})


def run_together(resource: Resource, orders: list[RunningOrder]) -> list | None:
    """The outcomes of `resource.many(orders)`, or None if it raised (the batch then runs order by order)."""
    try:
        outcomes = list(resource.many(orders))
        if len(outcomes) != len(orders):
            raise ValueError(f"many() returned {len(outcomes)} outcomes for {len(orders)} orders")
        return [to_url(outcome) for outcome in outcomes]
    except OrderCancelled:
        return None
    except Exception:
        logger.warning("%s: a batch of %s orders failed together; running them one by one", resource.name,
                       len(orders), exc_info=True)
        return None


def to_url(outcome):
    """An outcome of `many`: an exception stays one, a resource becomes its URL (or a JobError)."""
    if isinstance(outcome, BaseException):
        return outcome
    try:
        return resource_path(outcome)
    except Exception as exc:
        return exc


def run_alone(resource: Resource, order: RunningOrder):
    """Run the resource's job for one order of the batch: its URL, or SETTLED if it ended otherwise."""
    try:
        with fail_on_error(order, "The job failed", code="job_failed"):
            result = resource.func(order)
            if isinstance(result, FanOut):
                start_parts(order, result)  # its parts finish it
                return SETTLED
            return resource_path(result)
    except OrderCancelled:
        if lifecycle.cancel(order.id, lease=order.lease):
            lifecycle.log_transition(order, "cancelled")
        return SETTLED
    except Exception:  # recorded on the order by fail_on_error (or handed back for a retry)
        write_usage(order)
        return SETTLED


def finish(orders: list[RunningOrder], outcomes: list, callbacks: dict) -> None:
    """Complete the batch's orders that produced a resource, in one statement, and fail those that raised."""
    done = {}
    for order, outcome in zip(orders, outcomes, strict=True):
        if isinstance(outcome, BaseException):
            if not schedule_retry(order, outcome, "The job failed", "job_failed"):
                fail_one(order, outcome)
        elif outcome is not SETTLED:
            done[order.id] = outcome
    reports = {order.id: order.reports for order in orders}
    lease = orders[0].lease
    completed, cancelled = lifecycle.complete_batch(lease, done, reports, callbacks)
    by_id = {order.id: order for order in orders}
    for pk in completed:
        lifecycle.log_transition(by_id[pk], "completed")
    for pk in cancelled:
        lifecycle.log_transition(by_id[pk], "cancelled")
    for pk in set(done) - set(completed) - set(cancelled):
        logger.warning("order %s finished, but this execution no longer holds it", pk)


def fail_one(order: RunningOrder, exc: BaseException) -> None:
    record_failure(order, exc, "The job failed", "job_failed")
    write_usage(order)


def write_usage(order: RunningOrder) -> None:
    """Keep what a failed order of the batch spent (a completed one's is written with its completion)."""
    usage = order.reports.get("usage") if order.reports else None
    if usage:
        Order.objects.filter(pk=order.id, lease=order.lease).update(usage=usage)
