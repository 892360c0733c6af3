"""The Order: the database row that is the truth about one long-running job."""
from __future__ import annotations

import uuid

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import models, transaction
from django.db.models import F, Q
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
    """Status transitions as conditional UPDATEs: a status never goes backwards.

    The execution that runs an order holds its `lease`, a token set when it claims the
    order. Writes from a job carry the lease, so an execution that lost its order (its
    worker was presumed dead and the order retried elsewhere) cannot change it any more.
    A `lease=None` argument means any holder (the reconciler, the API, the admin).
    """

    def owned_by(self, user) -> OrderQuerySet:
        return self.filter(owner=user)

    def for_display(self) -> OrderQuerySet:
        """Leave out the columns no response shows: the input (a whole list of entries,
        perhaps), usage and tracebacks are not read and decoded on every poll."""
        return self.defer("input", "usage", "error_detail")

    def _move(self, pk, from_: tuple[str, ...], to: str, lease: str | None = None, **fields) -> bool:
        fields.setdefault("updated_at", timezone.now())
        rows = self.filter(pk=pk, status__in=from_)
        if lease is not None:
            rows = rows.filter(lease=lease)
        changed = self.notify_changed(pk, rows.update(status=to, **fields) == 1)
        if changed and to in FINISHED:
            self.notify_finished(pk)
        return changed

    def notify_finished(self, pk) -> None:
        """Schedule the order's webhook, if it has a callback URL, once the finish is committed."""
        from ..webhooks import schedule_delivery

        transaction.on_commit(lambda: schedule_delivery(pk))

    def notify_changed(self, pk, changed: bool) -> bool:
        """Announce a committed change of order `pk` to long-polling clients; return `changed`."""
        if changed:
            from ..events import publish_change

            publish_change(pk)
        return changed

    def claim(self, pk, lease: str) -> bool:
        """Take a queued order, or a running one handed back for a retry; count the attempt."""
        now = timezone.now()
        claimed = (
            self.filter(pk=pk)
            .filter(Q(status=Status.QUEUED) | Q(status=Status.RUNNING, lease=""))
            .filter(cancel_requested_at__isnull=True)
            .update(
                status=Status.RUNNING, lease=lease, attempts=F("attempts") + 1,
                started_at=now, heartbeat_at=now, updated_at=now, available_at=None,
            )
            == 1
        )
        return self.notify_changed(pk, claimed)

    def heartbeat(self, pk, lease: str) -> bool:
        """Record that the execution holding `lease` is alive; False if it no longer holds it."""
        return self.filter(pk=pk, status=Status.RUNNING, lease=lease).update(heartbeat_at=timezone.now()) == 1

    def release(self, pk, lease: str, message: str, available_at=None) -> bool:
        """Hand a running order back for another attempt (it stays `running`, without a lease)."""
        now = timezone.now()
        released = (
            self.filter(pk=pk, status=Status.RUNNING, lease=lease)
            .update(lease="", message=message[:255], available_at=available_at or now, updated_at=now)
            == 1
        )
        return self.notify_changed(pk, released)

    def complete(self, pk, resource_url: str, *, lease: str | None = None, message: str = "") -> bool:
        """Move a running order to completed with its resource's URL."""
        fields = {"resource_url": resource_url, "finished_at": timezone.now(), "progress": 100.0}
        if message:
            fields["message"] = message
        return self._move(pk, (Status.RUNNING,), Status.COMPLETED, lease=lease, **fields)

    def fail(self, pk, code: str, message: str, detail: str = "", *, lease: str | None = None) -> bool:
        """Move a pending order to failed with an error code and a message for people."""
        return self._move(
            pk, PENDING, Status.FAILED, lease=lease,
            error_code=code[:64], error_message=message, error_detail=detail, finished_at=timezone.now(),
        )

    def cancel(self, pk, *, lease: str | None = None) -> bool:
        """Move a pending order to cancelled."""
        return self._move(pk, PENDING, Status.CANCELLED, lease=lease, finished_at=timezone.now())

    def cancel_waiting(self, pk) -> bool:
        """Cancel an order that no execution holds (queued, or waiting for a retry)."""
        now = timezone.now()
        cancelled = (
            self.filter(pk=pk)
            .filter(Q(status=Status.QUEUED) | Q(status=Status.RUNNING, lease=""))
            .update(status=Status.CANCELLED, finished_at=now, updated_at=now)
            == 1
        )
        if cancelled:
            self.notify_finished(pk)
        return self.notify_changed(pk, cancelled)

    def request_cancel(self, pk) -> bool:
        """Ask the execution of a running order to stop at its next progress step."""
        now = timezone.now()
        requested = (
            self.filter(pk=pk, status=Status.RUNNING, cancel_requested_at__isnull=True)
            .update(cancel_requested_at=now, updated_at=now, message="Cancelling")
            == 1
        )
        return self.notify_changed(pk, requested)

    def add_usage(self, pk, counts: dict[str, int]) -> None:
        """Add `counts` to the order's usage totals (safe against concurrent chunk jobs)."""
        if not counts:
            return
        with transaction.atomic():
            usage = self.select_for_update().filter(pk=pk).values_list("usage", flat=True).first()
            if usage is None:
                return
            for name, value in counts.items():
                usage[name] = usage.get(name, 0) + value
            self.filter(pk=pk).update(usage=usage)

    def report_progress(
        self, pk, processed: int, total: int | None, message: str | None = None, *, lease: str | None = None
    ) -> bool:
        """Record progress on a running order; False if it stopped running or a cancel was asked."""
        now = timezone.now()
        fields: dict = {"processed": processed, "total": total, "updated_at": now, "heartbeat_at": now}
        if total:
            fields["progress"] = round(min(100.0, 100.0 * processed / total), 2)
        if message is not None:
            fields["message"] = message[:255]
        rows = self.filter(pk=pk, status=Status.RUNNING, cancel_requested_at__isnull=True)
        if lease is not None:
            rows = rows.filter(lease=lease)
        return self.notify_changed(pk, rows.update(**fields) == 1)


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

    # Called when the order finishes (see asyncrest.webhooks); `origin` is the scheme and host
    # the order was placed through, to make the URLs in the notification absolute.
    callback_url = models.URLField(max_length=2000, blank=True)
    origin = models.CharField(max_length=255, blank=True)

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
        ]

    def __str__(self) -> str:
        return f"{self.resource} order {self.pk} ({self.status})"

    def get_absolute_url(self) -> str:
        from django.urls import reverse

        return reverse("asyncrest:order-detail", kwargs={"pk": self.pk})

    def report_progress(self, processed: int, total: int | None, message: str | None = None) -> bool:
        """Record progress as the execution holding this order; False if it must stop."""
        return Order.objects.report_progress(self.pk, processed, total, message, lease=self.lease or None)

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
