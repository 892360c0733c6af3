"""Order moves: place, claim, heartbeat, progress, release, complete, fail, cancel."""
from __future__ import annotations

from django.db import models, transaction
from django.db.models import F, Q
from django.db.models.functions import Greatest
from django.utils import timezone

from ..models import FINISHED, PENDING, Order, Status
from .announce import announce
from .log import log_transition


def _moved(pk, rows: models.QuerySet, now_status: str, **fields) -> bool:
    """Apply `fields` to the matching row of `rows`; announce it (in `now_status`) if one changed."""
    fields.setdefault("updated_at", timezone.now())
    if rows.update(**fields) != 1:
        return False
    announce(pk, now_status, finished=now_status in FINISHED)
    return True


def place(order: Order, *, enqueue: bool = True) -> Order:
    """Insert the new `order` row, then (once committed) hand it to its queue.

    In autocommit the INSERT commits on its own, with no BEGIN and COMMIT round trips;
    inside a caller's transaction it takes a savepoint, so that the caller can still
    answer a lost race on its unique constraints (the Idempotency-Key).
    """
    from ..broker.dispatch import enqueue_order

    if not order.coalesced:  # a coalesced order runs in its resource's drain job, not a job of its own
        order.job_id = order.job_id or str(order.pk)
    if transaction.get_autocommit():
        order.save(force_insert=True)
    else:
        with transaction.atomic():
            order.save(force_insert=True)
    if enqueue:
        # At once in autocommit; else once the caller's transaction commits, never before.
        transaction.on_commit(lambda: enqueue_order(order))
    announce(order.pk, Status.QUEUED)
    log_transition(order, Status.QUEUED)
    return order


def why_not_retryable(order: Order) -> str:
    """Why `order` cannot be retried (`POST .../retry/`), in a sentence; empty if it can: it failed,
    was cancelled, or completed with some of its items failed."""
    from ..registry import get_resource

    if not order.is_finished:
        return f"The order is still {order.status}; only a finished order can be retried."
    if order.status == Status.COMPLETED and not order.failed:
        return "The order completed and none of its items failed: there is nothing to retry."
    if get_resource(order.resource) is None:
        return f"No job is registered for resource {order.resource!r} any more."
    return ""


def place_retry(original: Order, *, key: str | None = None, fingerprint: str = "") -> Order:
    """Place an order that redoes what the finished `original` did not do, linked to it by `retry_of`.

    It has the original's owner, resource, input and webhook; its job sees `order.retry_of`
    and redoes only the failed parts or items (a job that does not look redoes all of it).
    The original never changes.
    """
    from ..registry import get_resource

    resource = get_resource(original.resource)
    retry = Order(
        owner_id=original.owner_id, resource=original.resource, input=original.input, retry_of=original,
        coalesced=bool(resource and resource.coalesces(original.input)), idempotency_key=key,
        request_fingerprint=fingerprint, callback_url=original.callback_url, origin=original.origin,
    )
    return place(retry)


def claim(pk, lease: str) -> bool:
    """Take a queued order, or a running one handed back for a retry once that is due; count the attempt."""
    now = timezone.now()
    rows = (
        Order.objects.filter(pk=pk)
        .filter(Q(status=Status.QUEUED) | Q(Q(available_at__isnull=True) | Q(available_at__lte=now),
                                             status=Status.RUNNING, lease=""))
        .filter(cancel_requested_at__isnull=True)
    )
    return _moved(
        pk, rows, Status.RUNNING, status=Status.RUNNING, lease=lease, attempts=F("attempts") + 1,
        started_at=now, heartbeat_at=now, updated_at=now, available_at=None,
    )


def heartbeat(pk, lease: str) -> bool:
    """Record that the execution holding `lease` is alive; False if it no longer holds it.

    Not announced: nothing a client sees changes.
    """
    return Order.objects.filter(pk=pk, status=Status.RUNNING, lease=lease).update(heartbeat_at=timezone.now()) == 1


def report_progress(pk, processed: int, total: int | None, message: str | None = None, *,
                    lease: str | None = None) -> bool:
    """Record progress on a running order; False if it stopped running or a cancel was asked.

    `processed` and `progress` never go down: a retry that starts over shows the furthest
    point reached until it passes it.
    """
    now = timezone.now()
    fields: dict = {"processed": Greatest(F("processed"), processed), "total": total, "updated_at": now,
                    "heartbeat_at": now}
    if total:
        fields["progress"] = Greatest(F("progress"), round(min(100.0, 100.0 * processed / total), 2))
    if message is not None:
        fields["message"] = message[:255]
    rows = Order.objects.filter(pk=pk, status=Status.RUNNING, cancel_requested_at__isnull=True)
    if lease is not None:
        rows = rows.filter(lease=lease)
    return _moved(pk, rows, Status.RUNNING, **fields)


def report_message(pk, message: str, *, lease: str | None = None) -> bool:
    """Record a running order's message alone (an indeterminate phase); False as `report_progress`."""
    now = timezone.now()
    rows = Order.objects.filter(pk=pk, status=Status.RUNNING, cancel_requested_at__isnull=True)
    if lease is not None:
        rows = rows.filter(lease=lease)
    return _moved(pk, rows, Status.RUNNING, message=message[:255], updated_at=now, heartbeat_at=now)


def release(pk, lease: str, message: str, available_at=None, *, job_id: str | None = None) -> bool:
    """Hand a running order back for another attempt (it stays `running`, without a lease).

    `job_id` names the RQ job that will deliver the next attempt, when it is not the last one's.
    """
    now = timezone.now()
    rows = Order.objects.filter(pk=pk, status=Status.RUNNING, lease=lease)
    fields = {"job_id": job_id} if job_id else {}
    return _moved(pk, rows, Status.RUNNING, lease="", message=message[:255], available_at=available_at or now,
                  updated_at=now, **fields)


def complete(pk, resource_url: str, *, lease: str | None = None, message: str = "") -> bool:
    """Move a running order to completed with its resource's URL."""
    fields = {"resource_url": resource_url, "finished_at": timezone.now(), "progress": 100.0}
    if message:
        fields["message"] = message
    return _moved(pk, _pending(pk, (Status.RUNNING,), lease), Status.COMPLETED, status=Status.COMPLETED, **fields)


def fail(pk, code: str, message: str, detail: str = "", *, lease: str | None = None) -> bool:
    """Move a pending order to failed with an error code and a message for people."""
    return _moved(
        pk, _pending(pk, PENDING, lease), Status.FAILED, status=Status.FAILED,
        error_code=code[:64], error_message=message, error_detail=detail, finished_at=timezone.now(),
    )


def cancel(pk, *, lease: str | None = None) -> bool:
    """Move a pending order to cancelled."""
    return _moved(pk, _pending(pk, PENDING, lease), Status.CANCELLED, status=Status.CANCELLED,
                  finished_at=timezone.now())


def cancel_waiting(pk) -> bool:
    """Cancel an order that no execution holds (queued, or waiting for a retry)."""
    rows = Order.objects.filter(pk=pk).filter(Q(status=Status.QUEUED) | Q(status=Status.RUNNING, lease=""))
    return _moved(pk, rows, Status.CANCELLED, status=Status.CANCELLED, finished_at=timezone.now())


def request_cancel(pk) -> bool:
    """Ask the execution of a running order to stop at its next progress step."""
    rows = Order.objects.filter(pk=pk, status=Status.RUNNING, cancel_requested_at__isnull=True)
    return _moved(pk, rows, Status.RUNNING, cancel_requested_at=timezone.now(), message="Cancelling")


def add_usage(pk, counts: dict[str, int]) -> None:
    """Add `counts` to the order's usage totals (safe against concurrent parts).

    Not announced: usage is for operators, not part of the order's representation.
    """
    if not counts:
        return
    with transaction.atomic():
        usage = Order.objects.select_for_update().filter(pk=pk).values_list("usage", flat=True).first()
        if usage is None:
            return
        for name, value in counts.items():
            usage[name] = usage.get(name, 0) + value
        Order.objects.filter(pk=pk).update(usage=usage)


def _pending(pk, statuses: tuple[str, ...], lease: str | None) -> models.QuerySet:
    rows = Order.objects.filter(pk=pk, status__in=statuses)
    return rows if lease is None else rows.filter(lease=lease)
