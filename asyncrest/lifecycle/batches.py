"""The moves of coalesced orders, a batch at a time: claim, heartbeat, finish.

A batch is held by one lease, as a single order is, and each statement covers the whole
batch: claiming fifty small orders costs what claiming one does.
"""
from __future__ import annotations

from django.db import connection, transaction
from django.db.models import Case, F, JSONField, Q, Value, When
from django.utils import timezone

from ..models import Order, Status
from .announce import announce_many

#: What a batch's execution reads of each order it claims.
CLAIMED = ("id", "resource", "input", "owner_id", "created_at", "attempts", "callback_url", "usage")


def waiting(resource: str, now) -> Q:
    """The coalesced orders of `resource` that a drain may take (oldest first)."""
    return Q(resource=resource, coalesced=True, lease="", cancel_requested_at__isnull=True) & (
        Q(status=Status.QUEUED) | Q(status=Status.RUNNING, available_at__lte=now)
    )


def claim_batch(resource: str, lease: str, limit: int) -> list[dict]:
    """Take up to `limit` waiting coalesced orders of `resource` under `lease`; return their rows.

    Two statements: the oldest waiting rows are read (locked, skipping rows another drain
    holds, where the database can), then taken if they are still waiting.
    """
    now = timezone.now()
    with transaction.atomic():
        rows = Order.objects.filter(waiting(resource, now)).order_by("created_at")
        if connection.features.has_select_for_update_skip_locked:
            rows = rows.select_for_update(skip_locked=True)
        found = list(rows.values(*CLAIMED)[:limit])
        if not found:
            return []
        ids = [row["id"] for row in found]
        taken = Order.objects.filter(waiting(resource, now), pk__in=ids).update(
            status=Status.RUNNING, lease=lease, attempts=F("attempts") + 1, started_at=now, heartbeat_at=now,
            updated_at=now, available_at=None,
        )
        if taken != len(ids):  # another drain took some between the read and the write
            held = set(Order.objects.filter(pk__in=ids, lease=lease).values_list("id", flat=True))
            found = [row for row in found if row["id"] in held]
    for row in found:
        row.update(attempts=row["attempts"] + 1, started_at=now, lease=lease)
    announce_many([(row["id"], {}) for row in found], Status.RUNNING)
    return found


def heartbeat_batch(lease: str) -> bool:
    """Record that the execution holding `lease` is alive, for all its orders; False if it holds none."""
    return Order.objects.filter(lease=lease, status=Status.RUNNING).update(heartbeat_at=timezone.now()) > 0


def complete_batch(lease: str, done: dict, reports: dict, callbacks: dict) -> tuple[list, list]:
    """Complete the orders of `done` ({id: resource URL}) that `lease` holds, in one statement.

    `reports` are what each order's job recorded meanwhile ({id: {"processed": ..,
    "total": .., "message": .., "usage": ..}}), written with the completion. An order asked
    to cancel is cancelled instead: the end of its job is where a cancel takes effect.
    Return the ids completed and the ids cancelled.
    """
    if not done:
        return [], []
    now = timezone.now()
    ids = list(done)
    fields = {"status": Status.COMPLETED, "finished_at": now, "updated_at": now, "progress": 100.0,
              "resource_url": Case(*[When(pk=pk, then=Value(url)) for pk, url in done.items()])}
    for name in ("processed", "total", "message"):
        cases = [When(pk=pk, then=Value(report[name], output_field=Order._meta.get_field(name))) for pk, report in reports.items()
                 if pk in done and name in report]
        if cases:
            fields[name] = Case(*cases, default=F(name), output_field=Order._meta.get_field(name))
    usage = [When(pk=pk, then=Value(report["usage"], output_field=JSONField())) for pk, report in reports.items()
             if pk in done and report.get("usage")]
    if usage:
        fields["usage"] = Case(*usage, default=F("usage"), output_field=JSONField())
    holding = Order.objects.filter(pk__in=ids, lease=lease, status=Status.RUNNING)
    completed = ids
    if holding.filter(cancel_requested_at__isnull=True).update(**fields) != len(ids):
        completed = list(Order.objects.filter(pk__in=ids, lease=lease, status=Status.COMPLETED)
                         .values_list("id", flat=True))
    cancelled = []
    if len(completed) != len(ids):
        stopping = holding.filter(cancel_requested_at__isnull=False)
        cancelled = list(stopping.values_list("id", flat=True))
        stopping.filter(pk__in=cancelled).update(status=Status.CANCELLED, finished_at=now, updated_at=now)
    for status, pks in ((Status.COMPLETED, completed), (Status.CANCELLED, cancelled)):
        announce_many([(pk, {"callback_url": callbacks.get(pk)}) for pk in pks], status, finished=True)
    return completed, cancelled
