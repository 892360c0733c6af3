"""What is kept of a purged order: enough to answer `410 Gone` instead of `404` for a while longer."""
from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone


class PurgedOrder(models.Model):
    """The tombstone of an order deleted after its retention (`ASYNCREST["RETENTION"]`), kept for
    `TOMBSTONE_RETENTION` so that its owner is told it expired, not that it never existed."""

    # The purged order's own id.
    id = models.UUIDField(primary_key=True, editable=False)
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    resource = models.CharField(max_length=64)
    status = models.CharField(max_length=16)
    finished_at = models.DateTimeField(null=True, blank=True)
    purged_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        verbose_name = "purged order"

    def __str__(self) -> str:
        return f"{self.resource} order {self.pk} ({self.status}, purged {self.purged_at:%Y-%m-%d})"
