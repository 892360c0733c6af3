"""Hand orders and parts to their RQ queues, and take cancelled ones back out.

The database row is already committed when these run, so an order or part that Redis
cannot take now is not lost: it stays `queued` and the reconciler delivers it later.
"""
from __future__ import annotations

import logging

from redis.exceptions import RedisError

from .. import conf
from ..registry import get_resource
from .queues import get_connection, get_queue

logger = logging.getLogger("asyncrest.broker")

#: The RQ jobs, by dotted path: what a queued job names, so what a worker imports.
RUN_ORDER = "asyncrest.worker.runner.run_order"
RUN_PART = "asyncrest.worker.fanout.run_part"
DRAIN = "asyncrest.worker.coalesce.drain"
#: Set while a drain job of the resource waits in its queue: orders placed meanwhile need no job of their own.
#: Named by queue too, so that sites (or test runs) sharing one Redis never hold back each other's drains.
DRAIN_FLAG = "asyncrest:drain:{queue}:{resource}"
#: A drain that fails outright (its database unreachable, say) is run again this often by RQ
#: before the reconciler's next pass is left to deliver what still waits.
DRAIN_RETRIES = 3


def drain_flag(resource_name: str, queue_name: str) -> str:
    """The Redis key of `DrainFlag`."""
    return DRAIN_FLAG.format(queue=queue_name, resource=resource_name)


class DrainFlag:
    """The flag of a resource on a queue, in Redis, that says a drain of it is queued or running.

    It lives QUEUED_GRACE: a drain job lost with its queue (emptied, say) holds back the
    drains of new orders that long at most; one still queued past it gets a twin, harmless.
    """

    def __init__(self, resource_name: str, queue_name: str) -> None:
        self.key = drain_flag(resource_name, queue_name)
        self.connection = get_connection(queue_name)

    def set(self, *, only_if_unset: bool = False) -> bool:
        """Set the flag (if no one has, with `only_if_unset`); whether it was set. Raises RedisError."""
        return bool(self.connection.set(self.key, b"1", nx=only_if_unset, ex=max(1, int(conf.get("QUEUED_GRACE")))))

    def clear(self) -> None:
        self.connection.delete(self.key)


def _options(resource_name: str) -> tuple[str | None, int]:
    resource = get_resource(resource_name)
    if resource is None:
        return None, conf.get("DEFAULT_TIMEOUT")
    return resource.queue, resource.get_timeout()


def enqueue_order(order, *, force: bool = False) -> bool:
    """Put `order`'s job on its resource's queue; False (and logged) if Redis cannot take it.

    A coalesced order has no job of its own: its resource's drain job runs it (`force`
    enqueues a drain even if one seems to be waiting already).
    """
    if order.coalesced:
        return schedule_drain(order.resource, force=force)
    queue_name, timeout = _options(order.resource)
    queue = get_queue(queue_name)
    try:
        # One round trip: RQ saves the job and pushes its id on the caller's pipeline.
        with queue.connection.pipeline() as pipe:
            queue.enqueue(
                RUN_ORDER, str(order.pk), job_id=order.job_id or str(order.pk), job_timeout=timeout,
                description=f"{order.resource} order {order.pk}", pipeline=pipe,
            )
            pipe.execute()
    except RedisError as exc:
        logger.warning("order %s resource=%s could not be enqueued, stays queued: %s", order.pk, order.resource, exc)
        return False
    return True


def schedule_drain(resource_name: str, *, force: bool = False) -> bool:
    """Make sure a drain job of `resource_name` is queued: one round trip when one already is.

    The flag is set with the job and held by the drain while it runs; the drain lets go
    just before its last claim, so an order committed while the flag stands is claimed by
    that drain (see `DrainFlag` for how long a flag of a lost drain holds on).
    """
    from rq import Retry

    queue_name, timeout = _options(resource_name)
    queue = get_queue(queue_name)
    try:
        if not DrainFlag(resource_name, queue.name).set(only_if_unset=not force):
            return True  # a drain is already queued (a forced SET always succeeds)
        with queue.connection.pipeline() as pipe:
            queue.enqueue(DRAIN, resource_name, job_timeout=timeout, description=f"{resource_name} orders, coalesced",
                          result_ttl=0, retry=Retry(max=DRAIN_RETRIES), pipeline=pipe)
            pipe.execute()
    except RedisError as exc:
        logger.warning("resource %s: drain not enqueued, its orders stay queued: %s", resource_name, exc)
        return False
    return True


def enqueue_part(part) -> bool:
    """Put `part`'s job on its order's resource's queue; False (logged) if Redis cannot take it."""
    queue_name, timeout = _options(part.order.resource)
    try:
        get_queue(queue_name).enqueue(
            RUN_PART, part.pk, job_id=part.job_id, job_timeout=timeout,
            description=f"part {part.index} of {part.order.resource} order {part.order_id}",
        )
    except RedisError as exc:
        logger.warning("part %s of order %s not enqueued, the reconciler will: %s", part.index, part.order_id, exc)
        return False
    return True


def whole_second_after(moment):
    """`moment`, rounded up to a whole second: RQ's schedule keeps whole seconds, and a job due at
    12:00:00.6 scheduled as 12:00:00 would be handed to a worker before its attempt is due."""
    from datetime import timedelta

    return moment if not moment.microsecond else moment.replace(microsecond=0) + timedelta(seconds=1)


def schedule_order(order_id, resource, due, *, job_id: str | None) -> bool:
    """Put the job of an order's next attempt on RQ's schedule for `due`; False (logged) if Redis
    cannot take it: the reconciler then delivers the attempt once it is due.

    A coalesced order (`job_id=None`) is delivered by a drain of its resource, scheduled for then.
    """
    due = whole_second_after(due)
    queue = get_queue(resource.queue)
    try:
        if job_id is None:
            queue.enqueue_at(due, DRAIN, resource.name, job_timeout=resource.get_timeout(), result_ttl=0,
                             description=f"{resource.name} orders, coalesced (a retry)")
        else:
            queue.enqueue_at(due, RUN_ORDER, str(order_id), job_id=job_id, job_timeout=resource.get_timeout(),
                             description=f"{resource.name} order {order_id} (a retry)")
    except RedisError as exc:
        logger.warning("order %s: retry not scheduled, the reconciler will deliver it: %s", order_id, exc)
        return False
    return True


def schedule_part(part_id, resource, due, *, job_id: str) -> bool:
    """Put the job of a part's next attempt on RQ's schedule for `due`; False (logged) if Redis cannot."""
    due = whole_second_after(due)
    try:
        get_queue(resource.queue).enqueue_at(due, RUN_PART, part_id, job_id=job_id, job_timeout=resource.get_timeout(),
                                             description=f"part {part_id} of a {resource.name} order (a retry)")
    except RedisError as exc:
        logger.warning("part %s: retry not scheduled, the reconciler will deliver it: %s", part_id, exc)
        return False
    return True


def remove_job(order) -> None:
    """Take a cancelled order's job out of its queue (best effort: a late run finds it cancelled)."""
    from rq.job import Job

    if order.coalesced:
        return  # no job of its own: the drain's claim skips a cancelled order
    queue_name, _ = _options(order.resource)
    try:
        Job.fetch(order.job_id or str(order.pk), connection=get_connection(queue_name)).cancel()
    except Exception as exc:  # no such job, or Redis down: the claim will refuse the cancelled order anyway
        logger.debug("order %s: job not removed (%s)", order.pk, exc)
