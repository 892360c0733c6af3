"""Webhook signatures as in the Standard Webhooks spec, with a secret per user.

`webhook-id` (the same on every attempt), `webhook-timestamp` (Unix seconds) and
`webhook-signature: v1,<base64 of HMAC-SHA256(key, "<id>.<timestamp>.<body>")>`, one
signature per key, space-separated, while a rotated secret overlaps its successor.
Secrets are written `whsec_<base64>` and used base64-decoded, as the spec's libraries do.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from datetime import timedelta

from django.db import transaction
from django.utils import timezone

from .. import conf

PREFIX = "whsec_"


def new_secret() -> str:
    """Return a new random secret of 32 bytes, written `whsec_<base64>`."""
    return PREFIX + base64.b64encode(secrets.token_bytes(32)).decode()


def key_of(secret: str) -> bytes:
    """Return the signing key a `whsec_<base64>` secret stands for."""
    return base64.b64decode(secret.removeprefix(PREFIX))


def sign(key: bytes, message_id: str, timestamp: int, body: bytes) -> str:
    """Return one `v1,<signature>` of a request."""
    signed = f"{message_id}.{timestamp}.".encode() + body
    return "v1," + base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()


def signatures(owner_id, message_id: str, timestamp: int, body: bytes) -> str:
    """Return the `webhook-signature` header for `owner_id`'s request; empty if they have no secret."""
    from ..models import SigningSecret

    held = SigningSecret.objects.filter(owner_id=owner_id).first()
    if held is None:
        return ""
    return " ".join(sign(key_of(secret), message_id, timestamp, body) for secret in held.keys())


def rotate(owner) -> tuple[str, object]:
    """Make `owner` a new secret and return it with when the previous one stops signing (None: there was none).

    The previous secret keeps signing, beside the new one, for `WEBHOOK_ROTATION_OVERLAP`
    seconds, so that receivers can take the new one without missing a delivery.
    """
    from ..models import SigningSecret

    now = timezone.now()
    secret = new_secret()
    with transaction.atomic():
        held = SigningSecret.objects.select_for_update().filter(owner=owner).first()
        if held is None:
            SigningSecret.objects.create(owner=owner, secret=secret, created_at=now)
            return secret, None
        held.previous, held.secret, held.rotated_at = held.secret, secret, now
        held.previous_until = now + timedelta(seconds=conf.get("WEBHOOK_ROTATION_OVERLAP"))
        held.save(update_fields=["previous", "secret", "rotated_at", "previous_until"])
    return secret, held.previous_until


def has_secret(owner) -> bool:
    from ..models import SigningSecret

    return SigningSecret.objects.filter(owner=owner).exists()
