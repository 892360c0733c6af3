"""Part moves: the parts of a fanned-out order, and the order's hand-over to and from them.

A fanned-out order is `running` with the `FANOUT_LEASE`: no execution can claim it, and
its progress is the sum of its parts'. Each part has a lease of its own, and a part's
write to the order is fenced by the part's lease: a run already presumed dead, whose
part was handed to another run, changes nothing. A retried part adds to the order only
what goes past the furthest point any of its runs reached, so the order's progress
never goes down.
"""
from __future__ import annotations

from django.db import models, transaction
from django.db.models import Case, F, Q, Value, When
from django.db.models.functions import Least
from django.utils import timezone

from ..models import FANOUT_LEASE, Order, Part, Status
from .announce import announce


def claim_part(pk, lease: str) -> bool:
    """Take a queued part, or one handed back for a retry once that is due, of an order still running."""
    now = timezone.now()
    return (
        Part.objects.filter(pk=pk, order__status=Status.RUNNING, order__cancel_requested_at__isnull=True)
        .filter(Q(status=Status.QUEUED) | Q(Q(available_at__isnull=True) | Q(available_at__lte=now),
                                            status=Status.RUNNING, lease=""))
        .update(
            status=Status.RUNNING, lease=lease, attempts=F("attempts") + 1,
            started_at=now, heartbeat_at=now, available_at=None,
        )
        == 1
    )


def heartbeat_part(pk, lease: str) -> bool:
    """Record that the run holding the part's `lease` is alive; False if it no longer holds it."""
    return Part.objects.filter(pk=pk, status=Status.RUNNING, lease=lease).update(heartbeat_at=timezone.now()) == 1


def release_part(pk, lease: str, available_at) -> bool:
    """Hand a running part back for another attempt after `available_at`."""
    return Part.objects.filter(pk=pk, status=Status.RUNNING, lease=lease).update(
        lease="", available_at=available_at
    ) == 1


def finish_part(pk, lease: str | None, status: str, **fields) -> bool:
    """Move a pending part to `status` (completed, failed or cancelled)."""
    rows = Part.objects.filter(pk=pk, status__in=(Status.QUEUED, Status.RUNNING))
    if lease is not None:
        rows = rows.filter(lease=lease)
    return rows.update(status=status, finished_at=timezone.now(), **fields) == 1


def report_part_progress(pk, lease: str, processed: int, total: int | None, message: str | None = None) -> bool:
    """Record a part's progress and add what is new to its order's; False if either stopped.

    False when this run no longer holds the part (it was presumed dead and handed on),
    when the order is no longer running on its parts, or when a cancel was asked.
    """
    now = timezone.now()
    with transaction.atomic():
        row = _held(pk, lease, "processed")
        if row is None:
            return False
        reached, order_id = row
        gained = max(0, processed - reached)
        order_fields: dict = {"updated_at": now, **_processed_gain(gained)}
        if message is not None:
            order_fields["message"] = message[:255]
        running = Order.objects.filter(
            pk=order_id, status=Status.RUNNING, lease=FANOUT_LEASE, cancel_requested_at__isnull=True
        )
        if not running.update(**order_fields):
            return False
        Part.objects.filter(pk=pk).update(processed=max(reached, processed), total=total, heartbeat_at=now)
    announce(order_id, Status.RUNNING)
    return True


def hand_to_parts(pk, lease: str, *, total: int, message: str) -> bool:
    """Hand the running order held by `lease` to its parts: it now holds the `FANOUT_LEASE`.

    Its progress starts over, counting the parts' units: a job that fans out reports the
    work before (reading its input, say) as an indeterminate phase, in its message alone.
    """
    handed = Order.objects.filter(pk=pk, status=Status.RUNNING, lease=lease).update(
        lease=FANOUT_LEASE, total=total, processed=0, progress=0.0, message=message[:255],
        updated_at=timezone.now(),
    )
    if handed:
        announce(pk, Status.RUNNING)
    return handed == 1


def take_from_parts(pk, lease: str) -> bool:
    """Take the order back from its parts under `lease`, so that its finishing step runs once."""
    now = timezone.now()
    return Order.objects.filter(pk=pk, status=Status.RUNNING, lease=FANOUT_LEASE).update(
        lease=lease, heartbeat_at=now, updated_at=now
    ) == 1


def cancel_parts(pk) -> bool:
    """Cancel a fanned-out order whose cancel was asked, and its parts that have not finished."""
    now = timezone.now()
    with transaction.atomic():
        cancelled = Order.objects.filter(
            pk=pk, status=Status.RUNNING, lease=FANOUT_LEASE, cancel_requested_at__isnull=False
        ).update(status=Status.CANCELLED, finished_at=now, updated_at=now)
        if cancelled:
            Part.objects.filter(order_id=pk, status__in=(Status.QUEUED, Status.RUNNING)).update(
                status=Status.CANCELLED, finished_at=now
            )
    if cancelled:
        announce(pk, Status.CANCELLED, finished=True)
    return cancelled == 1


def _held(pk, lease: str, *columns: str):
    """The part's `columns` and its order's id, the row locked, if the run holding `lease` still runs it."""
    return Part.objects.select_for_update().filter(pk=pk, status=Status.RUNNING, lease=lease).values_list(
        *columns, "order_id"
    ).first()


def _processed_gain(gained: int) -> dict:
    """The order's fields that add `gained` processed items, its progress following: from the sum
    in the row, not from one part's view, since parts add concurrently."""
    if not gained:
        return {}
    processed_now = F("processed") + gained
    return {
        "processed": processed_now,
        "progress": Case(
            When(total__gt=0, then=Least(Value(100.0), 100.0 * processed_now / F("total"))),
            default=F("progress"),
            output_field=models.FloatField(),
        ),
    }


def _order_gains(pk, processed_gain: int, failed_gain: int) -> bool:
    """Add to a running fanned-out order's processed and failed counts (its progress follows)."""
    fields: dict = {"updated_at": timezone.now(), **_processed_gain(processed_gain)}
    if failed_gain:
        fields["failed"] = F("failed") + failed_gain
    return Order.objects.filter(pk=pk, status=Status.RUNNING, lease=FANOUT_LEASE).update(**fields) == 1


def report_part_failures(pk, lease: str, failed: int, code: str = "", message: str = "") -> bool:
    """Record that `failed` of the part's items failed so far (a count that only grows, across its
    runs) and add what is new to its order's; False if the part or its order stopped. The part
    keeps the `code` and `message` of its first failure."""
    with transaction.atomic():
        row = _held(pk, lease, "failed")
        if row is None:
            return False
        reached, order_id = row
        gained = max(0, failed - reached)
        if gained:
            if not _order_gains(order_id, 0, gained):
                return False
            Part.objects.filter(pk=pk).update(failed=failed)
            if code or message:
                Part.objects.filter(pk=pk, error_code="", error_message="").update(
                    error_code=code[:64], error_message=message)
    if gained:
        announce(order_id, Status.RUNNING)
    return True


def fail_part_tolerated(pk, lease: str, *, error_code: str, error_message: str, error_detail: str = "") -> bool:
    """Fail a part of an order that tolerates failures: the items it did not get to count as failed
    on the order (and as processed there, so that its progress still reaches 100 %); the order runs on.
    The part keeps `processed` as the point its runs reached: its items from there on were not done."""
    now = timezone.now()
    with transaction.atomic():
        row = _held(pk, lease, "processed", "total", "failed")
        if row is None:
            return False
        processed, total, failed, order_id = row
        remainder = max(0, (total or 0) - processed)
        Part.objects.filter(pk=pk).update(
            status=Status.FAILED, finished_at=now, failed=failed + remainder,
            error_code=error_code[:64], error_message=error_message, error_detail=error_detail,
        )
        _order_gains(order_id, remainder, remainder)
    announce(order_id, Status.RUNNING)
    return True
