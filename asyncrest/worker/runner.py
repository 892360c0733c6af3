"""The runner: the RQ job that carries an order from `queued` to a finished status."""
from __future__ import annotations

import logging
import uuid

from django.db import close_old_connections

from .. import lifecycle
from ..models import Order
from ..registry import get_resource
from .context import RunningOrder
from .errors import OrderCancelled, RetryScheduled, fail_on_error
from .fanout import FanOut, start_parts
from .heartbeat import Heartbeat
from .results import resource_path

logger = logging.getLogger("asyncrest.jobs")


def run_order(order_id: str) -> str | None:
    """Run the job registered for the order `order_id`; return the resource URL it made."""
    close_old_connections()
    try:
        return execute(order_id)
    finally:
        close_old_connections()


def execute(order_id) -> str | None:
    """Claim order `order_id`, run its resource's job with a `RunningOrder`, and finish the order."""
    lease = uuid.uuid4().hex
    if not lifecycle.claim(order_id, lease):
        status = Order.objects.filter(pk=order_id).values_list("status", flat=True).first()
        logger.info("order %s not started: status is %s, or another execution holds it", order_id, status or "unknown")
        return None
    order = RunningOrder.from_row(Order.objects.get(pk=order_id), lease)
    lifecycle.log_transition(order, "running", detail=f"attempt={order.attempts}")
    resource = get_resource(order.resource)
    if resource is None:
        lifecycle.fail(order.id, "unknown_resource", f"No job is registered for resource {order.resource!r}.",
                       lease=lease)
        lifecycle.log_transition(order, "failed", level=logging.ERROR, detail="code=unknown_resource")
        return None
    with Heartbeat(lambda: lifecycle.heartbeat(order.id, lease), name=f"order {order.id}"):
        try:
            with fail_on_error(order, "The job failed", code="job_failed"):
                result = resource.func(order)
                if isinstance(result, FanOut):
                    # The parts finish the order; this execution's part is done.
                    start_parts(order, result)
                    return None
                url = resource_path(result)
        except RetryScheduled:
            return None  # handed back: the next attempt's job is scheduled
        except OrderCancelled:
            if lifecycle.cancel(order.id, lease=lease):
                lifecycle.log_transition(order, "cancelled")
            else:
                logger.warning("order %s resource=%s stopped: this execution no longer holds it", order.id,
                               order.resource)
            return None
    if lifecycle.complete(order.id, url, lease=lease):
        lifecycle.log_transition(order, "completed")
    else:
        logger.warning("order %s resource=%s finished, but this execution no longer holds it", order.id,
                       order.resource)
    return url
