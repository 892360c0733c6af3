"""asyncrest's models: the Order, and the Parts a fanned-out order is split into."""
from .orders import FINISHED, PENDING, Order, OrderQuerySet, Status
from .parts import FANOUT_LEASE, Part, PartQuerySet
from .webhooks import Delivery

__all__ = ["Delivery", "FANOUT_LEASE", "FINISHED", "PENDING", "Order", "OrderQuerySet", "Part", "PartQuerySet", "Status"]
