"""The runner: the RQ job that carries an order from `queued` to a finished status."""
from __future__ import annotations

import logging

from django.db import close_old_connections
from redis.exceptions import RedisError

from . import conf
from .errors import JobError, OrderCancelled, fail_on_error
from .registry import get_resource

logger = logging.getLogger("asyncrest.jobs")


def enqueue_order(order) -> bool:
    """Hand `order` to its resource's RQ queue; False (and logged) if Redis cannot take it.

    The order row is already committed, so an order that cannot be delivered now stays
    `queued` and is not lost.
    """
    from .queues import get_queue

    resource = get_resource(order.resource)
    timeout = (resource.timeout if resource else None) or conf.get("DEFAULT_TIMEOUT")
    try:
        get_queue(resource.queue if resource else None).enqueue(
            run_order,
            str(order.pk),
            job_id=order.job_id or str(order.pk),
            job_timeout=timeout,
            description=f"{order.resource} order {order.pk}",
        )
    except RedisError as exc:
        logger.warning("order %s resource=%s could not be enqueued, stays queued: %s", order.pk, order.resource, exc)
        return False
    return True


def run_order(order_id: str) -> str | None:
    """Run the job registered for the order `order_id`; return the resource URL it made."""
    close_old_connections()
    try:
        return _run(order_id)
    finally:
        close_old_connections()


def _run(order_id: str) -> str | None:
    from .models import Order

    if not Order.objects.start(order_id):
        status = Order.objects.filter(pk=order_id).values_list("status", flat=True).first()
        logger.info("order %s not started: status is %s", order_id, status or "unknown")
        return None
    order = Order.objects.get(pk=order_id)
    logger.info("order %s resource=%s status=running attempt=%s", order.pk, order.resource, order.attempts)
    resource = get_resource(order.resource)
    if resource is None:
        Order.objects.fail(order.pk, "unknown_resource", f"No job is registered for resource {order.resource!r}.")
        logger.error("order %s resource=%s status=failed: no such resource", order.pk, order.resource)
        return None
    try:
        with fail_on_error(order, "The job failed", code="job_failed"):
            url = resource_path(resource.func(order))
    except OrderCancelled:
        Order.objects.cancel(order.pk)
        logger.info("order %s resource=%s status=cancelled", order.pk, order.resource)
        return None
    if Order.objects.complete(order.pk, url):
        order.refresh_from_db(fields=["started_at", "finished_at"])
        logger.info(
            "order %s resource=%s status=completed duration=%.3fs",
            order.pk, order.resource, order.duration.total_seconds(),
        )
    return url


def resource_path(result) -> str:
    """Turn a job's return value (a model with get_absolute_url, or a URL) into the resource URL."""
    if hasattr(result, "get_absolute_url"):
        return result.get_absolute_url()
    if isinstance(result, str) and result:
        return result
    raise JobError(f"the job returned {type(result).__name__}, not a resource", code="no_resource")
