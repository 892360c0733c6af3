"""Webhooks: a signed notification to an order's `callback_url` when it finishes."""
from .delivery import deliver  # noqa: F401  (the RQ job's path of releases before 0.2: asyncrest.webhooks.deliver)
from .signing import rotate, sign
from .targets import CallbackRefused, check_callback_url

__all__ = ["CallbackRefused", "check_callback_url", "rotate", "sign"]
