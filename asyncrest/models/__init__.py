"""asyncrest's models: the Order, the Parts a fanned-out order is split into, and webhook Deliveries.

Rows are read here; every write that moves an order or a part is `asyncrest.lifecycle`'s.
"""
from .orders import FINISHED, PENDING, Order, OrderQuerySet, Status
from .parts import FANOUT_LEASE, Part
from .webhooks import Delivery, SigningSecret

__all__ = ["Delivery", "FANOUT_LEASE", "FINISHED", "PENDING", "Order", "OrderQuerySet", "Part", "SigningSecret", "Status"]
