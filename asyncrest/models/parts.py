"""Parts: the chunks of one order that any number of workers run side by side."""
from __future__ import annotations

from django.core.serializers.json import DjangoJSONEncoder
from django.db import models
from django.utils import timezone

from .orders import Order, Status

# The lease a fanned-out order holds while its parts run: no execution can claim it, and
# only its parts (through this token) may finish it.
FANOUT_LEASE = "fan-out"


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
    # Of its items, those its runs reported failed (the furthest count any run reached).
    failed = models.PositiveBigIntegerField(default=0)
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

    class Meta:
        ordering = ["order", "index"]
        constraints = [models.UniqueConstraint(fields=["order", "index"], name="asyncrest_part_unique_index")]
        indexes = [models.Index(fields=["status", "heartbeat_at"], name="asyncrest_part_status_hb")]

    def __str__(self) -> str:
        return f"part {self.index} of order {self.order_id} ({self.status})"

    @property
    def job_id(self) -> str:
        """The RQ job that delivers the part's next attempt (its first, then one of its own per retry)."""
        return part_job_id(self.order_id, self.index, self.attempts)

    @property
    def running_job_id(self) -> str:
        """The RQ job that delivered the attempt now running."""
        return part_job_id(self.order_id, self.index, max(0, self.attempts - 1))


def part_job_id(order_id, index: int, attempts: int) -> str:
    """The id of the RQ job that delivers a part after `attempts` attempts. A retry gets an id of
    its own, so that it never overwrites the job of the attempt still running (RQ keeps one
    record per id)."""
    base = f"{order_id}-part-{index}"
    return base if attempts == 0 else f"{base}-retry-{attempts}"
