"""Webhook deliveries (each call to an order's `callback_url`, with its attempts and outcome) and signing secrets."""
from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.utils import timezone

from .orders import Order


class Delivery(models.Model):
    """The notification of one finished order to its callback URL, retried until it lands."""

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        DELIVERED = "delivered", "Delivered"
        FAILED = "failed", "Failed"

    # The Standard Webhooks message id: the same on every attempt, so receivers can dedupe.
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    order = models.OneToOneField(Order, on_delete=models.CASCADE, related_name="webhook_delivery")
    url = models.URLField(max_length=2000)
    event = models.CharField(max_length=32)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(default=timezone.now)
    last_status_code = models.PositiveIntegerField(null=True, blank=True)
    last_error = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    delivered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name_plural = "webhook deliveries"
        indexes = [models.Index(fields=["status", "next_attempt_at"], name="asyncrest_delivery_due")]

    def __str__(self) -> str:
        return f"{self.event} of order {self.order_id} to {self.url} ({self.status})"

    @property
    def message_id(self) -> str:
        return f"msg_{self.pk.hex}"


class SigningSecret(models.Model):
    """The key that signs one user's webhooks: theirs alone, so that nobody can sign what another's receiver accepts.

    Rotating it keeps the previous key for `WEBHOOK_ROTATION_OVERLAP` seconds, during
    which every webhook carries both signatures, so that receivers can switch over.
    """

    owner = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="asyncrest_signing_secret"
    )
    # "whsec_<base64>", as Standard Webhooks writes secrets; never shown again after it is made.
    secret = models.CharField(max_length=100)
    previous = models.CharField(max_length=100, blank=True)
    previous_until = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    rotated_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"webhook signing secret of {self.owner}"

    def keys(self, now=None) -> list[str]:
        """The secrets to sign with now: the current one, and the previous one during its overlap."""
        now = now or timezone.now()
        return [self.secret] + ([self.previous] if self.previous and self.previous_until and self.previous_until > now
                                else [])
