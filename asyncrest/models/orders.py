"""The Order: the database row that is the truth about one long-running job."""
from __future__ import annotations

import uuid

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class Status(models.TextChoices):
    QUEUED = "queued", _("Queued")
    RUNNING = "running", _("Running")
    COMPLETED = "completed", _("Completed")
    FAILED = "failed", _("Failed")
    CANCELLED = "cancelled", _("Cancelled")


PENDING = (Status.QUEUED, Status.RUNNING)
FINISHED = (Status.COMPLETED, Status.FAILED, Status.CANCELLED)


class OrderQuerySet(models.QuerySet):
    """Reads of orders. Writes that move an order are `asyncrest.lifecycle`'s alone."""

    def owned_by(self, user) -> OrderQuerySet:
        return self.filter(owner=user)

    def for_display(self) -> OrderQuerySet:
        """Leave out the columns no response shows: the input (a whole list of entries,
        perhaps), usage and tracebacks are not read and decoded on every poll."""
        return self.defer("input", "usage", "error_detail")

    def with_retried_by(self) -> OrderQuerySet:
        """Annotate each order with `retried_by_id`, its latest retry's id (for lists: one query for
        every row; a single order's is read only if it could have been retried)."""
        latest_retry = Order.objects.filter(retry_of=models.OuterRef("pk")).order_by("-created_at").values("pk")[:1]
        return self.annotate(retried_by_id=models.Subquery(latest_retry))


class Order(models.Model):
    """One client's request for one run of a registered resource's job."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="async_orders"
    )
    resource = models.CharField(max_length=64)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.QUEUED)
    input = models.JSONField(default=dict, blank=True, encoder=DjangoJSONEncoder)

    progress = models.FloatField(default=0.0)
    processed = models.PositiveBigIntegerField(default=0)
    total = models.PositiveBigIntegerField(null=True, blank=True)
    message = models.CharField(max_length=255, blank=True)
    # Items of `total` that failed, in a resource that tolerates failures (`register(..., tolerate=)`).
    failed = models.PositiveBigIntegerField(default=0)

    resource_url = models.CharField(max_length=500, null=True, blank=True)
    error_code = models.CharField(max_length=64, blank=True)
    error_message = models.TextField(blank=True)
    # Tracebacks stay here and in the logs; they are never part of the API.
    error_detail = models.TextField(blank=True)

    # What the job spent, e.g. {"requests": 12, "prompt_tokens": 3400}: for operators, not the API.
    usage = models.JSONField(default=dict, blank=True)

    attempts = models.PositiveIntegerField(default=0)
    job_id = models.CharField(max_length=64, blank=True)
    # The token of the execution that holds the order; empty while none does.
    lease = models.CharField(max_length=32, blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    # A retry is not enqueued before this time (backoff after a lost worker).
    available_at = models.DateTimeField(null=True, blank=True)
    cancel_requested_at = models.DateTimeField(null=True, blank=True)
    # Run in a batch with other small orders of its resource (`register(..., coalesce=N)`),
    # delivered by the resource's drain job rather than a job of its own.
    coalesced = models.BooleanField(default=False)

    # Called when the order finishes (see asyncrest.webhooks); `origin` is the scheme and host
    # the order was placed through, to make the URLs in the notification absolute.
    callback_url = models.URLField(max_length=2000, blank=True)
    origin = models.CharField(max_length=255, blank=True)

    # The finished order whose failed parts or items this one redoes (`POST /async/orders/<id>/retry/`).
    retry_of = models.ForeignKey("self", null=True, blank=True, on_delete=models.SET_NULL, related_name="retries")

    idempotency_key = models.CharField(max_length=255, null=True, blank=True)
    request_fingerprint = models.CharField(max_length=64, blank=True)

    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    objects = OrderQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            # Concurrent POSTs with one Idempotency-Key are resolved here, not by a read-then-write race.
            models.UniqueConstraint(
                fields=["owner", "idempotency_key"],
                condition=Q(idempotency_key__isnull=False),
                name="asyncrest_unique_idempotency_key",
            ),
        ]
        indexes = [
            models.Index(fields=["owner", "-created_at"], name="asyncrest_owner_created"),
            models.Index(fields=["status", "updated_at"], name="asyncrest_status_updated"),
            # The drain's claim: the oldest waiting coalesced orders of one resource.
            models.Index(
                fields=["resource", "created_at"], name="asyncrest_coalesced_waiting",
                condition=Q(coalesced=True, lease="", status__in=["queued", "running"]),
            ),
            # The purge: the finished orders of a resource, oldest first (a pending order has no finished_at).
            models.Index(fields=["resource", "finished_at"], name="asyncrest_finished"),
        ]

    def __str__(self) -> str:
        return f"{self.resource} order {self.pk} ({self.status})"

    def get_absolute_url(self) -> str:
        from django.urls import reverse

        return reverse("asyncrest:order-detail", kwargs={"pk": self.pk})

    @property
    def is_finished(self) -> bool:
        return self.status in FINISHED

    @property
    def error(self) -> dict | None:
        if not self.error_code:
            return None
        return {"code": self.error_code, "message": self.error_message}

    @property
    def duration(self):
        if self.started_at and self.finished_at:
            return self.finished_at - self.started_at
        return None
