"""Parts: the chunks of one order that any number of workers run side by side."""
from __future__ import annotations

from django.core.serializers.json import DjangoJSONEncoder
from django.db import models
from django.db.models import Case, F, Q, Value, When
from django.db.models.functions import Least
from django.utils import timezone

from .orders import Order, Status

# The lease a fanned-out order holds while its parts run: no execution can claim it, and
# only its parts (through this token) may finish it.
FANOUT_LEASE = "fan-out"


class PartQuerySet(models.QuerySet):
    """Part transitions as conditional UPDATEs, fenced by the part's lease like orders."""

    def claim(self, pk, lease: str) -> bool:
        """Take a queued part, or one handed back for a retry, of an order still running."""
        now = timezone.now()
        return (
            self.filter(pk=pk, order__status=Status.RUNNING, order__cancel_requested_at__isnull=True)
            .filter(Q(status=Status.QUEUED) | Q(status=Status.RUNNING, lease=""))
            .update(
                status=Status.RUNNING, lease=lease, attempts=F("attempts") + 1,
                started_at=now, heartbeat_at=now, available_at=None,
            )
            == 1
        )

    def heartbeat(self, pk, lease: str) -> bool:
        return self.filter(pk=pk, status=Status.RUNNING, lease=lease).update(heartbeat_at=timezone.now()) == 1

    def release(self, pk, lease: str, available_at) -> bool:
        """Hand a running part back for another attempt after `available_at`."""
        return (
            self.filter(pk=pk, status=Status.RUNNING, lease=lease).update(lease="", available_at=available_at) == 1
        )

    def finish(self, pk, lease: str | None, status: str, **fields) -> bool:
        """Move a pending part to `status` (completed, failed or cancelled)."""
        rows = self.filter(pk=pk, status__in=(Status.QUEUED, Status.RUNNING))
        if lease is not None:
            rows = rows.filter(lease=lease)
        return rows.update(status=status, finished_at=timezone.now(), **fields) == 1


class Part(models.Model):
    """One chunk of a fanned-out order: its own job, attempts, lease and progress."""

    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="parts")
    index = models.PositiveIntegerField()
    # The module-level function that runs the part, by dotted path, like RQ jobs.
    func = models.CharField(max_length=200)
    # Called with the order once every part has completed; returns the order's resource.
    then = models.CharField(max_length=200)
    input = models.JSONField(default=dict, blank=True, encoder=DjangoJSONEncoder)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.QUEUED)
    processed = models.PositiveBigIntegerField(default=0)
    total = models.PositiveBigIntegerField(null=True, blank=True)
    attempts = models.PositiveIntegerField(default=0)
    lease = models.CharField(max_length=32, blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    available_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    error_code = models.CharField(max_length=64, blank=True)
    error_message = models.TextField(blank=True)
    error_detail = models.TextField(blank=True)

    objects = PartQuerySet.as_manager()

    class Meta:
        ordering = ["order", "index"]
        constraints = [models.UniqueConstraint(fields=["order", "index"], name="asyncrest_part_unique_index")]
        indexes = [models.Index(fields=["status", "heartbeat_at"], name="asyncrest_part_status_hb")]

    def __str__(self) -> str:
        return f"part {self.index} of order {self.order_id} ({self.status})"

    @property
    def job_id(self) -> str:
        return f"{self.order_id}-part-{self.index}"

    def report_progress(self, processed: int, total: int | None, message: str | None = None) -> bool:
        """Record the part's progress and add its news to the order's; False if the order stopped."""
        delta = processed - self.processed
        now = timezone.now()
        processed_now = F("processed") + delta
        order_fields: dict = {
            "processed": processed_now,
            "updated_at": now,
            # From the sum in the row, not from this part's view: parts add concurrently.
            "progress": Case(
                When(total__gt=0, then=Least(Value(100.0), 100.0 * processed_now / F("total"))),
                default=F("progress"),
                output_field=models.FloatField(),
            ),
        }
        if message is not None:
            order_fields["message"] = message[:255]
        running = Order.objects.filter(
            pk=self.order_id, status=Status.RUNNING, lease=FANOUT_LEASE, cancel_requested_at__isnull=True
        )
        if not running.update(**order_fields):
            return False
        Order.objects.notify_changed(self.order_id, True)
        Part.objects.filter(pk=self.pk, lease=self.lease).update(processed=processed, total=total, heartbeat_at=now)
        self.processed, self.total = processed, total
        return True
