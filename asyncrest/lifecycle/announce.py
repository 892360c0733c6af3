"""Send the lifecycle signals once the change they announce is committed."""
from __future__ import annotations

import logging

from django.db import transaction

from ..signals import order_changed, order_finished

logger = logging.getLogger("asyncrest.lifecycle")


def announce(order_id, status: str, *, finished: bool = False) -> None:
    """Send `order_changed` (and `order_finished` if `finished`) for order `order_id` after commit.

    A receiver that raises is logged and does not stop the others, nor the job or request
    whose write this was: the order row is already the truth.
    """
    from ..models import Order

    def send() -> None:
        signals = [order_changed, order_finished] if finished else [order_changed]
        for signal in signals:
            for receiver, result in signal.send_robust(Order, order_id=order_id, status=status):
                if isinstance(result, Exception):
                    logger.error("order %s: receiver %r of a lifecycle signal failed", order_id, receiver,
                                 exc_info=result)

    transaction.on_commit(send)
