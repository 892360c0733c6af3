"""Webhooks: tell an order's `callback_url` that the order finished, signed and retried.

Requests are signed as in the Standard Webhooks spec: `webhook-id` (the same on every
attempt), `webhook-timestamp` (Unix seconds) and `webhook-signature: v1,<base64 of
HMAC-SHA256(secret, "<id>.<timestamp>.<body>")>`. The secret is `WEBHOOK_SECRET`; one
written as `whsec_<base64>` is used base64-decoded, as the spec's libraries do.

Callback URLs must be http(s) and resolve only to public addresses: loopback, private,
link-local (cloud metadata at 169.254.169.254), multicast and reserved addresses are
refused when the order is placed and again before every attempt, since DNS can change
in between; the request then goes to the address that was checked, so a second lookup
cannot point it elsewhere. Hosts in `WEBHOOK_ALLOWED_HOSTS` are exempt. Redirects are not
followed.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import ipaddress
import json
import logging
import random
import socket
import ssl
import time
from collections.abc import Callable
from datetime import timedelta
from urllib.parse import urlsplit

import urllib3
from django.core.serializers.json import DjangoJSONEncoder
from django.db import close_old_connections, transaction
from django.utils import timezone
from redis.exceptions import RedisError

from . import conf

logger = logging.getLogger("asyncrest.webhooks")

Resolver = Callable[[str, int], list[str]]


class CallbackRefused(ValueError):
    """The callback URL may not be called; the message says why, for the client."""


def resolve(host: str, port: int) -> list[str]:
    """Return every address `host` resolves to."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        # UnicodeError: not a host name at all (an empty label, one over 63 characters).
        raise CallbackRefused(f"The host {host!r} cannot be resolved.") from exc
    return sorted({info[4][0] for info in infos})


def check_callback_url(url: str, resolver: Resolver = resolve) -> tuple[str, int, str]:
    """Return (host, port, address to connect to) for `url`, or raise `CallbackRefused`."""
    try:
        parts = urlsplit(url)
    except ValueError as exc:  # e.g. "http://[::1": an unclosed IPv6 address
        raise CallbackRefused("The callback URL is not a valid URL.") from exc
    if parts.scheme not in ("http", "https"):
        raise CallbackRefused("The callback URL must start with http:// or https://.")
    if not parts.hostname:
        raise CallbackRefused("The callback URL has no host.")
    if parts.username or parts.password:
        raise CallbackRefused("The callback URL may not carry a user name or password.")
    host = parts.hostname.lower()
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError as exc:
        raise CallbackRefused("The callback URL has an invalid port.") from exc
    addresses = resolver(host, port)
    if not addresses:
        raise CallbackRefused(f"The host {host!r} cannot be resolved.")
    if host in {h.lower() for h in conf.get("WEBHOOK_ALLOWED_HOSTS")}:
        return host, port, addresses[0]
    for address in addresses:
        kind = non_public_kind(ipaddress.ip_address(address.split("%")[0]))
        if kind:
            raise CallbackRefused(
                f"The callback host {host!r} resolves to {address}, {'an' if kind[0] in 'aeiou' else 'a'} {kind} address; "
                "callbacks go to public addresses only."
            )
    return host, port, addresses[0]


def non_public_kind(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> str:
    """Name what makes `address` not a public one (empty if it is public)."""
    if getattr(address, "ipv4_mapped", None):
        return non_public_kind(address.ipv4_mapped)
    for kind, flag in [
        ("unspecified", address.is_unspecified), ("loopback", address.is_loopback),
        ("link-local", address.is_link_local), ("multicast", address.is_multicast),
        ("reserved", address.is_reserved), ("private", address.is_private),
    ]:
        if flag:
            return kind
    return "" if address.is_global else "non-public"


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


def schedule_delivery(order_id) -> None:
    """Create the delivery of a finished order's webhook and enqueue its first attempt."""
    from .models import Delivery, Order

    order = Order.objects.filter(pk=order_id).exclude(callback_url="").only("id", "status", "callback_url").first()
    if order is None:
        return
    delivery, created = Delivery.objects.get_or_create(
        order=order, defaults={"url": order.callback_url, "event": f"order.{order.status}"}
    )
    if created:
        enqueue_delivery(delivery)


def enqueue_delivery(delivery) -> bool:
    """Put an attempt of `delivery` on the queue; the reconciler retries if Redis is down."""
    from .queues import get_queue

    try:
        get_queue().enqueue(deliver, str(delivery.pk), job_id=f"webhook-{delivery.pk.hex}-{delivery.attempts}",
                            job_timeout=conf.get("WEBHOOK_TIMEOUT") * 3)
    except RedisError as exc:
        logger.warning("webhook %s not enqueued, the reconciler will: %s", delivery.pk, exc)
        return False
    return True


def payload(order) -> bytes:
    """Return the notification's JSON body: the event, its time and the order as the API shows it."""
    from .serializers import OrderSerializer

    data = OrderSerializer(order, context={"origin": order.origin}).data
    body = {"type": f"order.{order.status}", "timestamp": timezone.now().isoformat(), "data": data}
    return json.dumps(body, cls=DjangoJSONEncoder).encode()


def deliver(delivery_id: str) -> None:
    """Make one attempt at a webhook delivery (the RQ job)."""
    close_old_connections()
    try:
        deliver_now(delivery_id)
    finally:
        close_old_connections()


def deliver_now(delivery_id: str) -> None:
    """Make one attempt at a webhook delivery if it is due; schedule the next if it fails."""
    from .models import Delivery

    with transaction.atomic():
        delivery = (
            Delivery.objects.select_for_update().select_related("order")
            .filter(pk=delivery_id, status=Delivery.Status.PENDING).first()
        )
        if delivery is None or delivery.next_attempt_at > timezone.now():
            return  # delivered, given up, or an early duplicate of a scheduled retry
        # Claim this attempt before the (slow) request, so a duplicate job does nothing.
        delivery.attempts += 1
        delivery.next_attempt_at = timezone.now() + timedelta(seconds=retry_delay(delivery.attempts))
        delivery.save(update_fields=["attempts", "next_attempt_at"])
    code, error = attempt(delivery)
    delivery.last_status_code, delivery.last_error = code, error[:500]
    if not error:
        delivery.status, delivery.delivered_at = Delivery.Status.DELIVERED, timezone.now()
        logger.info("webhook %s of order %s delivered (HTTP %s)", delivery.event, delivery.order_id, code)
    elif delivery.attempts >= conf.get("WEBHOOK_MAX_ATTEMPTS"):
        delivery.status = Delivery.Status.FAILED
        logger.error("webhook %s of order %s failed for good: %s", delivery.event, delivery.order_id, error)
    else:
        logger.warning("webhook %s of order %s attempt %s failed: %s", delivery.event, delivery.order_id,
                       delivery.attempts, error)
    delivery.save(update_fields=["status", "delivered_at", "last_status_code", "last_error"])


def retry_delay(attempt_number: int) -> float:
    """Seconds before the attempt after `attempt_number`: doubling from WEBHOOK_BACKOFF, with jitter, at most 1 h."""
    base = min(conf.get("WEBHOOK_BACKOFF") * 2 ** (attempt_number - 1), 3600)
    return base * random.uniform(0.8, 1.2)


def attempt(delivery) -> tuple[int | None, str]:
    """POST the signed notification once; return (HTTP status, error text or "")."""
    key = secret_key()
    if not key:
        return None, "no WEBHOOK_SECRET is configured"
    try:
        host, port, address = check_callback_url(delivery.url)
    except CallbackRefused as exc:
        return None, f"refused: {exc}"
    parts = urlsplit(delivery.url)
    body = payload(delivery.order)
    timestamp = int(time.time())
    headers = {
        "content-type": "application/json",
        "user-agent": "asyncrest-webhooks",
        "host": parts.netloc.rpartition("@")[2],
        "webhook-id": delivery.message_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": sign(key, delivery.message_id, timestamp, body),
    }
    timeout = urllib3.Timeout(connect=5, read=conf.get("WEBHOOK_TIMEOUT"))
    # Connect to the address that was checked; TLS still verifies the certificate for the host name.
    if parts.scheme == "https":
        pool = urllib3.HTTPSConnectionPool(
            address, port, server_hostname=host, assert_hostname=host, cert_reqs="CERT_REQUIRED",
            ssl_context=ssl.create_default_context(), timeout=timeout, retries=False,
        )
    else:
        pool = urllib3.HTTPConnectionPool(address, port, timeout=timeout, retries=False)
    path = parts.path or "/"
    if parts.query:
        path += "?" + parts.query
    try:
        with pool:
            response = pool.urlopen("POST", path, body=body, headers=headers, redirect=False,
                                    preload_content=False)
            response.read(64 * 1024)  # enough to finish the exchange; the body is not used
    except urllib3.exceptions.HTTPError as exc:
        return None, f"{type(exc).__name__}: {exc}"
    if 200 <= response.status < 300:
        return response.status, ""
    return response.status, f"the receiver answered HTTP {response.status}"


def deliver_due() -> int:
    """Enqueue every pending delivery whose next attempt is due (run by the reconciler)."""
    from .models import Delivery

    due = Delivery.objects.filter(status=Delivery.Status.PENDING, next_attempt_at__lte=timezone.now())[:500]
    return sum(enqueue_delivery(delivery) for delivery in due)
