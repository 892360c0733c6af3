"""Order change notifications over Redis pub/sub, for long-polling clients.

`publish_on_change` is connected to `asyncrest.signals.order_changed` (in the app's
`ready()`): every committed change of an order wakes the requests waiting on it.
"""
from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections.abc import Callable, Iterator
from typing import TypeVar

from redis.exceptions import RedisError

logger = logging.getLogger("asyncrest.events")

T = TypeVar("T")

CHANNEL = "asyncrest:order:{}"

_batch = threading.local()


def channel(order_id) -> str:
    return CHANNEL.format(order_id)


def publish_on_change(sender, order_id, **kwargs) -> None:
    """Tell the requests waiting on order `order_id` that it changed (a receiver of `order_changed`)."""
    from .queues import get_connection

    if kwargs.get("status") == "queued":
        return  # a new order: nobody can be waiting on an id that was just made
    pipe = getattr(_batch, "pipeline", None)
    if pipe is not None:
        pipe.publish(channel(order_id), b"1")
        return
    try:
        get_connection().publish(channel(order_id), b"1")
    except RedisError as exc:  # long polls then end on their timeout; nothing is lost
        logger.debug("order %s: change not published (%s)", order_id, exc)


@contextlib.contextmanager
def publishing_together() -> Iterator[None]:
    """Send the block's change notifications in one round trip, as it ends (for batches of orders)."""
    from .queues import get_connection

    if getattr(_batch, "pipeline", None) is not None:
        yield
        return
    _batch.pipeline = get_connection().pipeline(transaction=False)
    try:
        yield
    finally:
        pipe, _batch.pipeline = _batch.pipeline, None
        try:
            pipe.execute()
        except RedisError as exc:
            logger.debug("a batch of changes not published (%s)", exc)
        finally:
            pipe.reset()


@contextlib.contextmanager
def watch(order_id) -> Iterator[Changes]:
    """Subscribe to order `order_id`'s changes for the block; read the order inside it."""
    changes = Changes(order_id)
    try:
        yield changes
    finally:
        changes.close()


class Changes:
    """A subscription to one order's change notifications, confirmed by Redis before it is used."""

    def __init__(self, order_id) -> None:
        from .queues import get_connection

        self.pubsub = None
        try:
            pubsub = get_connection().pubsub()
            pubsub.subscribe(channel(order_id))
            # Wait for Redis to confirm the subscription: a change published after this
            # point reaches us, one before it is seen by the caller's read of the order.
            confirmed = pubsub.get_message(timeout=2)
            if confirmed and confirmed["type"] == "subscribe":
                self.pubsub = pubsub
            else:
                pubsub.close()
        except RedisError as exc:
            # Without Redis, waits degrade to sleeping out their timeout; the client still gets an answer.
            logger.debug("order %s: not subscribed to changes (%s)", order_id, exc)

    def wait(self, timeout: float) -> bool:
        """Block until a change is announced or `timeout` seconds pass; True if one was."""
        deadline = time.monotonic() + timeout
        if self.pubsub is not None:
            try:
                while (remaining := deadline - time.monotonic()) > 0:
                    message = self.pubsub.get_message(timeout=remaining)
                    if message and message["type"] == "message":
                        return True
                return False
            except RedisError:
                self.close()
        time.sleep(max(0.0, deadline - time.monotonic()))
        return False

    def reread_until(self, read: Callable[[], T], done: Callable[[T], bool], deadline: float, value: T) -> T:
        """Return `value`, or what `read()` gives after each announced change, once `done` or at `deadline`.

        `deadline` is a `time.monotonic()` time; `value` is the caller's read made after subscribing.
        """
        while not done(value) and (remaining := deadline - time.monotonic()) > 0:
            # A notification, or the deadline: either way read again and compare.
            self.wait(remaining)
            value = read()
        return value

    def close(self) -> None:
        if self.pubsub is not None:
            with contextlib.suppress(RedisError):
                self.pubsub.close()
            self.pubsub = None
