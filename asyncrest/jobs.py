"""The runner: the RQ job that carries an order from `queued` to a finished status."""
from __future__ import annotations

import logging
import uuid

from django.db import close_old_connections
from redis.exceptions import RedisError

from . import conf
from .errors import JobError, OrderCancelled, fail_on_error
from .fanout import FanOut, start_parts
from .heartbeat import Heartbeat
from .registry import get_resource
from .transitions import log_transition

logger = logging.getLogger("asyncrest.jobs")


def enqueue_order(order) -> bool:
    """Hand `order` to its resource's RQ queue; False (and logged) if Redis cannot take it.

    The order row is already committed, so an order that cannot be delivered now stays
    `queued` and is not lost: the reconciler delivers it later.
    """
    from .queues import get_queue

    resource = get_resource(order.resource)
    timeout = resource.get_timeout() if resource else conf.get("DEFAULT_TIMEOUT")
    queue = get_queue(resource.queue if resource else None)
    try:
        # One round trip: RQ saves the job and pushes its id on the caller's pipeline.
        with queue.connection.pipeline() as pipe:
            queue.enqueue(
                run_order,
                str(order.pk),
                job_id=order.job_id or str(order.pk),
                job_timeout=timeout,
                description=f"{order.resource} order {order.pk}",
                pipeline=pipe,
            )
            pipe.execute()
    except RedisError as exc:
        logger.warning("order %s resource=%s could not be enqueued, stays queued: %s", order.pk, order.resource, exc)
        return False
    return True


def remove_job(order) -> None:
    """Take a cancelled order's job out of its queue (best effort: a late run finds it cancelled)."""
    from rq.job import Job

    from .queues import get_connection

    resource = get_resource(order.resource)
    try:
        Job.fetch(order.job_id or str(order.pk), connection=get_connection(resource.queue if resource else None)).cancel()
    except Exception as exc:  # no such job, or Redis down: the claim will refuse the cancelled order anyway
        logger.debug("order %s: job not removed (%s)", order.pk, exc)


def run_order(order_id: str) -> str | None:
    """Run the job registered for the order `order_id`; return the resource URL it made."""
    close_old_connections()
    try:
        return _run(order_id)
    finally:
        close_old_connections()


def _run(order_id: str) -> str | None:
    from .models import Order

    lease = uuid.uuid4().hex
    if not Order.objects.claim(order_id, lease):
        status = Order.objects.filter(pk=order_id).values_list("status", flat=True).first()
        logger.info("order %s not started: status is %s, or another execution holds it", order_id, status or "unknown")
        return None
    order = Order.objects.get(pk=order_id)
    log_transition(order, "running", detail=f"attempt={order.attempts}")
    resource = get_resource(order.resource)
    if resource is None:
        Order.objects.fail(
            order.pk, "unknown_resource", f"No job is registered for resource {order.resource!r}.", lease=lease
        )
        log_transition(order, "failed", level=logging.ERROR, detail="code=unknown_resource")
        return None
    with Heartbeat(lambda: Order.objects.heartbeat(order.pk, lease), name=f"order {order.pk}"):
        try:
            with fail_on_error(order, "The job failed", code="job_failed"):
                result = resource.func(order)
                if isinstance(result, FanOut):
                    # The parts finish the order; this execution's part is done.
                    start_parts(order, lease, result)
                    return None
                url = resource_path(result)
        except OrderCancelled:
            if Order.objects.cancel(order.pk, lease=lease):
                log_transition(order, "cancelled")
            else:
                logger.warning("order %s resource=%s stopped: this execution no longer holds it", order.pk, order.resource)
            return None
    if Order.objects.complete(order.pk, url, lease=lease):
        log_transition(order, "completed")
    else:
        logger.warning("order %s resource=%s finished, but this execution no longer holds it", order.pk, order.resource)
    return url


def resource_path(result) -> str:
    """Turn a job's return value (a model with get_absolute_url, or a URL) into the resource URL."""
    if hasattr(result, "get_absolute_url"):
        return result.get_absolute_url()
    if isinstance(result, str) and result:
        return result
    raise JobError(f"the job returned {type(result).__name__}, not a resource", code="no_resource")
