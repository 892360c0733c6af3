"""Send the lifecycle signals once the change they announce is committed."""
from __future__ import annotations

import logging

from django.db import transaction

from ..signals import order_changed, order_finished

logger = logging.getLogger("asyncrest.lifecycle")


def announce(order_id, status: str, *, finished: bool = False, **facts) -> None:
    """Send `order_changed` (and `order_finished` if `finished`) for order `order_id` after commit.

    A receiver that raises is logged and does not stop the others, nor the job or request
    whose write this was: the order row is already the truth. `facts` are what the
    writer already knows of the order (`callback_url`), passed on to the receivers.
    """
    transaction.on_commit(lambda: send(order_id, status, finished, facts))


def announce_many(changes: list[tuple], status: str, *, finished: bool = False) -> None:
    """Announce `status` for each `(order_id, facts)` of `changes`, their notifications in one round trip."""
    from ..broker.pubsub import publishing_together

    def send_all() -> None:
        with publishing_together():
            for order_id, facts in changes:
                send(order_id, status, finished, facts)

    if changes:
        transaction.on_commit(send_all)


def send(order_id, status: str, finished: bool, facts: dict) -> None:
    from ..models import Order

    signals = [order_changed, order_finished] if finished else [order_changed]
    for signal in signals:
        for receiver, result in signal.send_robust(Order, order_id=order_id, status=status, **facts):
            if isinstance(result, Exception):
                logger.error("order %s: receiver %r of a lifecycle signal failed", order_id, receiver,
                             exc_info=result)
