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
    rows = models.PositiveIntegerField(default=0, help_text="Entries received.")
    tagged = models.PositiveIntegerField(default=0, help_text="Entries stored and tagged.")
    rejected = models.PositiveIntegerField(default=0, help_text="Entries that could not be used.")
    rejected_rows = models.JSONField(default=list, blank=True, help_text="[{line, reason}] per unusable entry.")

    class Meta:
        ordering = ["-created_at"]
        verbose_name_plural = "batches"

    def __str__(self) -> str:
        return f"Batch {self.pk} ({self.rows} rows)"

    def get_absolute_url(self) -> str:
        return reverse("tagging:batch-detail", kwargs={"pk": self.pk})


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
    error = models.CharField(max_length=255, blank=True, help_text="Why no tags could be found, if so.")

    class Meta:
        ordering = ["-timestamp", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["order", "position"], name="tagging_log_unique_order_position"),
        ]
        indexes = [models.Index(fields=["owner", "-timestamp"], name="tagging_log_owner_ts")]

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
