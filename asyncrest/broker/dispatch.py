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


def _options(resource_name: str) -> tuple[str | None, int]:
    resource = get_resource(resource_name)
    if resource is None:
        return None, conf.get("DEFAULT_TIMEOUT")
    return resource.queue, resource.get_timeout()


def enqueue_order(order) -> bool:
    """Put `order`'s job on its resource's queue; False (and logged) if Redis cannot take it."""
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


def remove_job(order) -> None:
    """Take a cancelled order's job out of its queue (best effort: a late run finds it cancelled)."""
    from rq.job import Job

    queue_name, _ = _options(order.resource)
    try:
        Job.fetch(order.job_id or str(order.pk), connection=get_connection(queue_name)).cancel()
    except Exception as exc:  # no such job, or Redis down: the claim will refuse the cancelled order anyway
        logger.debug("order %s: job not removed (%s)", order.pk, exc)
