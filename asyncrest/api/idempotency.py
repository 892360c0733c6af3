"""`Idempotency-Key`: the same key from the same user within `IDEMPOTENCY_TTL` returns the same order."""
from __future__ import annotations

import hashlib
import json
from datetime import timedelta

from django.core.serializers.json import DjangoJSONEncoder
from django.utils import timezone
from rest_framework.exceptions import ValidationError

from .. import conf
from ..models import Order
from .exceptions import IdempotencyKeyReused


def get_idempotency_key(headers) -> str | None:
    """Return the `Idempotency-Key` header, or None; 400 if it is not a short printable token."""
    key = headers.get("Idempotency-Key")
    if key is None:
        return None
    key = key.strip()
    if not key or len(key) > 255 or not key.isprintable():
        raise ValidationError({"Idempotency-Key": ["Must be 1 to 255 printable characters."]})
    return key


def request_fingerprint(resource: str, order_input: dict) -> str:
    """Return a digest of what was ordered, to tell a retried request from a different one."""
    # Keys starting with "_" (such as where an upload was stored) differ between identical requests.
    public = {key: value for key, value in order_input.items() if not key.startswith("_")}
    text = json.dumps({"resource": resource, "input": public}, sort_keys=True, cls=DjangoJSONEncoder)
    return hashlib.sha256(text.encode()).hexdigest()


def replayed_order(owner, key: str, fingerprint: str) -> Order | None:
    """Return `owner`'s live order for `key`; 422 if it was placed with another request."""
    order = Order.objects.filter(owner=owner, idempotency_key=key).first()
    if order is None:
        return None
    if order.created_at < timezone.now() - timedelta(seconds=conf.get("IDEMPOTENCY_TTL")):
        # Expired: free the key for a new order (not a change any client sees).
        Order.objects.filter(pk=order.pk, idempotency_key=key).update(idempotency_key=None)
        return None
    if order.request_fingerprint != fingerprint:
        raise IdempotencyKeyReused()
    return order
