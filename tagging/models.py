"""Developers' log entries and the tech-stack tags found in them."""
from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.urls import reverse
from django.utils import timezone

from .taggers import TAG_TYPE


class Batch(models.Model):
    """The entries of one order with many entries (a JSON list or a CSV file)."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="tagging_batches")
    order = models.OneToOneField(
        "asyncrest.Order", null=True, blank=True, on_delete=models.SET_NULL, related_name="tagging_batch"
    )
    created_at = models.DateTimeField(default=timezone.now)
    filename = models.CharField(max_length=200, blank=True, help_text="The uploaded file's name, if any.")
    rows = models.PositiveIntegerField(default=0, help_text="Rows or entries received.")
    tagged = models.PositiveIntegerField(default=0, help_text="Entries stored and tagged.")
    failed = models.PositiveIntegerField(default=0, help_text="Entries stored whose tags could not be found.")
    rejected = models.PositiveIntegerField(default=0, help_text="Rows that could not be used (see rejected rows).")

    class Meta:
        ordering = ["-created_at"]
        verbose_name_plural = "batches"

    def __str__(self) -> str:
        return f"Batch {self.pk} ({self.rows} rows)"

    def get_absolute_url(self) -> str:
        return reverse("tagging:batch-detail", kwargs={"pk": self.pk})


class RejectedRow(models.Model):
    """A row of an upload that could not be used, with its line number and the reason."""

    batch = models.ForeignKey(Batch, on_delete=models.CASCADE, related_name="rejected_rows")
    line = models.PositiveIntegerField()
    reason = models.CharField(max_length=255)

    class Meta:
        ordering = ["batch", "line"]
        constraints = [models.UniqueConstraint(fields=["batch", "line"], name="tagging_rejected_unique_line")]

    def __str__(self) -> str:
        return f"line {self.line}: {self.reason}"


class Log(models.Model):
    """One developer log entry."""

    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="tagging_logs")
    entry = models.TextField()
    timestamp = models.DateTimeField(default=timezone.now)
    batch = models.ForeignKey(Batch, null=True, blank=True, on_delete=models.CASCADE, related_name="logs")
    # (order, position) identifies the entry within the order that created it, so a job
    # that runs twice stores each entry once.
    order = models.ForeignKey("asyncrest.Order", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    position = models.PositiveIntegerField(null=True, blank=True)
    line = models.PositiveIntegerField(null=True, blank=True, help_text="The entry's line in its upload, if any.")
    error = models.CharField(max_length=255, blank=True, help_text="Why no tags could be found, if so.")

    class Meta:
        ordering = ["-timestamp", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["order", "position"], name="tagging_log_unique_order_position"),
        ]
        indexes = [
            models.Index(fields=["owner", "-timestamp"], name="tagging_log_owner_ts"),
            # A batch's failed entries, listed with the batch and redone by its order's retry.
            models.Index(fields=["batch", "position"], condition=~models.Q(error=""), name="tagging_log_failed"),
        ]

    def __str__(self) -> str:
        return self.entry[:60]

    def get_absolute_url(self) -> str:
        return reverse("tagging:log-detail", kwargs={"pk": self.pk})


class Tag(models.Model):
    """A technology found in a log entry."""

    type = models.CharField(max_length=32, default=TAG_TYPE)
    value = models.CharField(max_length=100)
    log = models.ForeignKey(Log, on_delete=models.CASCADE, related_name="tags")
    timestamp = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["type", "value"]
        constraints = [
            models.UniqueConstraint(fields=["log", "type", "value"], name="tagging_tag_unique_per_log"),
        ]
        indexes = [models.Index(fields=["value"], name="tagging_tag_value")]

    def __str__(self) -> str:
        return f"{self.type}: {self.value}"
