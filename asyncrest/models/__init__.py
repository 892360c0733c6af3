"""asyncrest's models: the Order, the Parts a fanned-out order is split into, webhook Deliveries, and
the tombstones of purged orders.

Rows are read here; every write that moves an order or a part is `asyncrest.lifecycle`'s.
"""
from .orders import FINISHED, PENDING, Order, OrderQuerySet, Status
from .parts import FANOUT_LEASE, Part
from .tombstones import PurgedOrder
from .webhooks import Delivery, SigningSecret

__all__ = [
    "Delivery", "FANOUT_LEASE", "FINISHED", "PENDING", "Order", "OrderQuerySet", "Part", "PurgedOrder", "SigningSecret",
    "Status",
]
