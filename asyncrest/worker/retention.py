"""Retention: finished orders are deleted once their resource's retention has passed.

Each purged order leaves a tombstone (`PurgedOrder`) for `TOMBSTONE_RETENTION`, so that its
owner's client gets `410 Gone` ("it expired") rather than `404` ("it never existed"). A
pending order is never purged. The purge goes in batches of `PURGE_BATCH` orders, each its
own short transaction, so that no statement holds the tables for long while orders are
placed and polled: the resource's `purge(order_ids)` first (its results), then the orders
with their parts and webhook deliveries (their `Idempotency-Key` goes with them).

It runs in the reconciler's passes (`PURGE_BATCHES_PER_PASS` batches at most) and as
`manage.py purge`.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import timedelta

from django.db import transaction
from django.utils import timezone

from .. import conf
from ..models import FINISHED, Order, PurgedOrder
from ..registry import get_resources

logger = logging.getLogger("asyncrest.reconciler")


@dataclass(slots=True)
class Purged:
    """What a purge did."""

    orders: int = 0
    batches: int = 0
    tombstones_expired: int = 0

    def __str__(self) -> str:
        return (f"{self.orders:,} orders purged in {self.batches:,} batches, "
                f"{self.tombstones_expired:,} tombstones expired")


def expired_orders(now=None) -> list:
    """The finished orders whose retention has passed, oldest first: a query per resource, each a
    range of the index of finished orders (resource, finished_at)."""
    now = now or timezone.now()
    resources = get_resources()
    querysets = []
    for resource in resources.values():
        retention = resource.get_retention()
        if retention is not None:
            querysets.append(Order.objects.filter(resource=resource.name,
                                                  finished_at__lt=now - timedelta(seconds=retention)))
    default = conf.get("RETENTION")
    if default is not None:  # orders of resources no longer registered
        querysets.append(Order.objects.exclude(resource__in=list(resources))
                         .filter(finished_at__lt=now - timedelta(seconds=default)))
    return [queryset.filter(status__in=FINISHED).order_by("finished_at") for queryset in querysets]


def purge(*, now=None, batch_size: int | None = None, max_batches: int | None = None) -> Purged:
    """Delete the finished orders past their retention, a batch at a time, and expired tombstones."""
    now = now or timezone.now()
    batch_size = batch_size or conf.get("PURGE_BATCH")
    done = Purged()
    for expired in expired_orders(now):
        while max_batches is None or done.batches < max_batches:
            ids = list(expired.values_list("pk", flat=True)[:batch_size])
            if not ids:
                break
            done.orders += purge_batch(ids)
            done.batches += 1
    lasting = conf.get("TOMBSTONE_RETENTION")
    if lasting is not None:
        while max_batches is None or done.batches < max_batches:
            old = list(PurgedOrder.objects.filter(purged_at__lt=now - timedelta(seconds=lasting))
                       .values_list("pk", flat=True)[:batch_size])
            if not old:
                break
            done.tombstones_expired += PurgedOrder.objects.filter(pk__in=old).delete()[0]
            done.batches += 1
    if done.orders or done.tombstones_expired:
        logger.info("purge: %s", done)
    return done


def purge_batch(ids: list) -> int:
    """Purge the orders `ids` that are still finished, in one transaction; return how many went."""
    resources = get_resources()
    by_resource: dict = {}
    for pk, name in Order.objects.filter(pk__in=ids, status__in=FINISHED).values_list("pk", "resource"):
        by_resource.setdefault(name, []).append(pk)
    # The resources' results first, each hook in transactions of its own (a big result is
    # deleted a chunk at a time, not in one long transaction); a hook must be safe to run twice.
    for name, order_ids in by_resource.items():
        resource = resources.get(name)
        if resource is not None and resource.purge is not None:
            resource.purge(order_ids)
    with transaction.atomic():
        rows = list(Order.objects.filter(pk__in=ids, status__in=FINISHED).select_for_update()
                    .values("id", "owner_id", "resource", "status", "finished_at"))
        if not rows:
            return 0
        PurgedOrder.objects.bulk_create([PurgedOrder(**row) for row in rows], ignore_conflicts=True)
        # The parts and deliveries go with their orders (one DELETE each); an order retried by
        # one kept longer leaves it without `retry_of`.
        Order.objects.filter(pk__in=[row["id"] for row in rows]).only("id").delete()
    return len(rows)
