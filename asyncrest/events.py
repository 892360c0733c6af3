"""Order change notifications over Redis pub/sub, for long-polling clients."""
from __future__ import annotations

import logging
import time

from django.db import transaction
from redis.exceptions import RedisError

logger = logging.getLogger("asyncrest.events")

CHANNEL = "asyncrest:order:{}"


def channel(order_id) -> str:
    return CHANNEL.format(order_id)


def publish_change(order_id) -> None:
    """Tell waiting clients that order `order_id` changed, once the change is committed."""
    transaction.on_commit(lambda: _publish(order_id))


def _publish(order_id) -> None:
    from .queues import get_connection

    try:
        get_connection().publish(channel(order_id), b"1")
    except RedisError as exc:  # long polls then end on their timeout; nothing is lost
        logger.debug("order %s: change not published (%s)", order_id, exc)


def wait_for_change(order_id, timeout: float) -> bool:
    """Block until order `order_id` is reported changed or `timeout` seconds pass; True if changed.

    Subscribe before re-reading the order (callers do so after this returns), so a
    change between the caller's read and the subscription is caught by the caller's
    comparison, and one after it by the subscription.
    """
    from .queues import get_connection

    deadline = time.monotonic() + timeout
    try:
        pubsub = get_connection().pubsub(ignore_subscribe_messages=True)
        try:
            pubsub.subscribe(channel(order_id))
            while (remaining := deadline - time.monotonic()) > 0:
                if pubsub.get_message(timeout=remaining):
                    return True
            return False
        finally:
            pubsub.close()
    except RedisError:
        # Without Redis, degrade to waiting out the timeout; the client still gets an answer.
        time.sleep(max(0.0, deadline - time.monotonic()))
        return False
