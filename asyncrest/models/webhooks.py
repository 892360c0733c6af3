"""Webhook deliveries: each call to an order's `callback_url`, with its attempts and outcome."""
from __future__ import annotations

import uuid

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
