"""Webhook signatures as in the Standard Webhooks spec.

`webhook-id` (the same on every attempt), `webhook-timestamp` (Unix seconds) and
`webhook-signature: v1,<base64 of HMAC-SHA256(secret, "<id>.<timestamp>.<body>")>`. The
secret is `WEBHOOK_SECRET`; one written as `whsec_<base64>` is used base64-decoded, as
the spec's libraries do.
"""
from __future__ import annotations

import base64
import hashlib
import hmac

from .. import conf


def secret_key() -> bytes:
    """Return the signing key from WEBHOOK_SECRET (empty: webhooks are off)."""
    secret = conf.get("WEBHOOK_SECRET") or ""
    if secret.startswith("whsec_"):
        return base64.b64decode(secret[len("whsec_"):])
    return secret.encode()


def sign(key: bytes, message_id: str, timestamp: int, body: bytes) -> str:
    """Return the `webhook-signature` header value for one request."""
    signed = f"{message_id}.{timestamp}.".encode() + body
    return "v1," + base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()
