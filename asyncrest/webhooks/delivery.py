"""Webhook delivery: tell an order's `callback_url` that the order finished, signed and retried.

`schedule_on_finish` is connected to `asyncrest.signals.order_finished` (in the app's
`ready()`): a finished order with a callback URL gets one Delivery, attempted by an RQ
job and retried with backoff (the reconciler re-enqueues due attempts). Redirects are
not followed.
"""
from __future__ import annotations

import json
import logging
import random
import time
from datetime import timedelta
from urllib.parse import urlsplit

from django.core.serializers.json import DjangoJSONEncoder
from django.db import close_old_connections, transaction
from django.utils import timezone
from redis.exceptions import RedisError

from .. import conf
from .signing import signatures
from .targets import CallbackRefused, check_callback_url
from .transport import post

logger = logging.getLogger("asyncrest.webhooks")

#: The RQ job of one delivery attempt, by dotted path.
DELIVER = "asyncrest.webhooks.delivery.deliver"


def schedule_on_finish(sender, order_id, **kwargs) -> None:
    """Schedule the webhook of a finished order (a receiver of `order_finished`)."""
    if kwargs.get("callback_url") == "":
        return  # the writer knows there is none: no read for it
    schedule_delivery(order_id)


def schedule_delivery(order_id) -> None:
    """Create the delivery of a finished order's webhook and enqueue its first attempt."""
    from ..models import Delivery, Order

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
    from ..broker.queues import get_queue

    try:
        # WEBHOOK_QUEUE (else the orders' queue): a worker listing it after the orders' serves orders first.
        get_queue(conf.get("WEBHOOK_QUEUE")).enqueue(
            DELIVER, str(delivery.pk), job_id=f"webhook-{delivery.pk.hex}-{delivery.attempts}",
            job_timeout=conf.get("WEBHOOK_TIMEOUT") * 3,
        )
    except RedisError as exc:
        logger.warning("webhook %s not enqueued, the reconciler will: %s", delivery.pk, exc)
        return False
    return True


def payload(order) -> bytes:
    """Return the notification's JSON body: the event, its time and the order as the API shows it."""
    from ..api.serializers import OrderSerializer

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
    from ..models import Delivery

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
        "webhook-signature": signatures(delivery.order.owner_id, delivery.message_id, timestamp, body),
    }
    if not headers["webhook-signature"]:
        return None, "the order's owner has no webhook signing secret"
    target = parts.path or "/"
    if parts.query:
        target += "?" + parts.query
    # To the address that was checked; TLS still verifies the certificate for the host name.
    try:
        code = post(address, port, host=host, https=parts.scheme == "https", target=target, headers=headers,
                    body=body, timeout=conf.get("WEBHOOK_TIMEOUT"))
    except (OSError, ValueError) as exc:
        return None, f"{type(exc).__name__}: {exc}"
    if 200 <= code < 300:
        return code, ""
    return code, f"the receiver answered HTTP {code}"


def deliver_due() -> int:
    """Enqueue every pending delivery whose next attempt is due (run by the reconciler)."""
    from ..models import Delivery

    due = Delivery.objects.filter(status=Delivery.Status.PENDING, next_attempt_at__lte=timezone.now())[:500]
    return sum(enqueue_delivery(delivery) for delivery in due)
