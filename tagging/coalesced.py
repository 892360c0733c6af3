"""One-entry tagging orders, many at once: the `many` of the `tagging` resource.

A burst of one-entry orders is tagged in one `tag()` call (for the LLM tagger, a handful
of requests instead of one per order) and stored with one INSERT of logs and one of tags.
"""
from __future__ import annotations

from collections.abc import Sequence

from django.db import transaction
from django.utils.dateparse import parse_datetime

from asyncrest import RunningOrder

from .models import Log, Tag
from .taggers import TAG_TYPE, Usage, get_tagger


def is_one_entry(order_input) -> bool:
    """Orders of one entry are coalesced; lists and CSV files run alone, and fan out."""
    return "entry" in order_input


def entry_timestamp(order: RunningOrder):
    """The time of an order's entries: its input's `timestamp`, else when the order was placed."""
    return parse_datetime(order.input["timestamp"]) if order.input.get("timestamp") else order.created_at


def tag_entries(orders: Sequence[RunningOrder]) -> list[Log]:
    """Tag the entries of one-entry `orders` together; return each order's Log, in order.

    What the tagger spent is shared out evenly among the orders. Any error (a retried
    order whose log is already stored, an LLM that is down) raises, and the batch is run
    again order by order by the engine, so that each order meets its own outcome.
    """
    tagger = get_tagger()
    try:
        results = tagger.tag([order.input["entry"] for order in orders])
        usage = tagger.last_usage
    finally:
        tagger.close()
    for order, share in zip(orders, shares(usage, len(orders)), strict=True):
        order.add_usage(share)
        order.report_progress(1, 1, "Tagging the entry")
    logs = [
        Log(owner_id=order.owner_id, entry=order.input["entry"], order_id=order.id, position=0,
            timestamp=entry_timestamp(order),
            error=(result.error or "")[:255])
        for order, result in zip(orders, results, strict=True)
    ]
    with transaction.atomic():
        Log.objects.bulk_create(logs)
        if any(log.pk is None for log in logs):  # a database that does not return the new keys
            ids = dict(Log.objects.filter(order_id__in=[o.id for o in orders], position=0).values_list("order_id", "id"))
            for log in logs:
                log.pk = ids[log.order_id]
        Tag.objects.bulk_create(
            [Tag(type=TAG_TYPE, value=value, log_id=log.pk) for log, result in zip(logs, results) for value in result.tags],
            ignore_conflicts=True,
        )
    return logs


def shares(usage: Usage, count: int) -> list[dict[str, int]]:
    """Split `usage` into `count` even parts whose sums are the whole (the first ones take the remainders)."""
    totals = usage.counts()
    parts: list[dict[str, int]] = [{} for _ in range(count)]
    for name, value in totals.items():
        base, extra = divmod(value, count)
        for index, part in enumerate(parts):
            if base + (index < extra):
                part[name] = base + (index < extra)
    return parts
