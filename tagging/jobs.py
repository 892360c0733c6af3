"""The `tagging` resource: find the tech stack in log entries."""
from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Iterator, Sequence
from itertools import islice

from django.db import transaction
from django.utils.dateparse import parse_datetime

from asyncrest import ProgressItems, fail_on_error, register
from asyncrest.models import Order

from .models import Batch, Log, Tag
from .serializers import TaggingOrderSerializer
from .taggers import TAG_TYPE, BaseTagger, Usage, get_tagger

logger = logging.getLogger("tagging.jobs")


@register("tagging", serializer=TaggingOrderSerializer, timeout=600)
def tag_logs(order):
    """Tag the order's entry (returns its Log) or entries (returns their Batch)."""
    data = order.input
    timestamp = parse_datetime(data["timestamp"]) if data.get("timestamp") else order.created_at
    single = "entry" in data
    entries = [data["entry"]] if single else data["entries"]
    with fail_on_error(order, "Tagging failed", code="tagging_failed"):
        tagger = get_tagger()
        spent: Counter[str] = Counter()
        try:
            batch = None
            if not single:
                batch, _ = Batch.objects.get_or_create(
                    order=order, defaults={"owner": order.owner, "rows": len(entries)}
                )
            chunks = chunked(entries, tagger.batch_size)
            with ProgressItems(order, chunks, total=len(entries), weight=len, message="Tagging entries") as items:
                start = 0
                for chunk in items:
                    try:
                        store_tagged(order, batch, start, chunk, timestamp, tagger)
                    finally:
                        # Spent even when the chunk failed: a failed order's requests cost too.
                        spent.update(record_usage(order, tagger.last_usage))
                    start += len(chunk)
        finally:
            tagger.close()
            if spent:
                totals = " ".join(f"{name}={value}" for name, value in sorted(spent.items()))
                logger.info("order %s tagging usage: %s", order.pk, totals)
    if single:
        return Log.objects.get(order=order, position=0)
    batch.tagged = batch.logs.count()
    batch.save(update_fields=["tagged"])
    return batch


def chunked(items: Sequence[str], size: int) -> Iterator[list[str]]:
    """Yield `items` in lists of at most `size`."""
    iterator = iter(items)
    while chunk := list(islice(iterator, size)):
        yield chunk


def record_usage(order, usage: Usage) -> dict[str, int]:
    """Add what a `tag()` call spent to the order's usage and return it; nothing to add, no write."""
    counts = {
        "requests": usage.requests, "prompt_tokens": usage.prompt_tokens,
        "completion_tokens": usage.completion_tokens, **usage.extra,
    }
    counts = {name: value for name, value in counts.items() if value}
    Order.objects.add_usage(order.pk, counts)
    return counts


def store_tagged(order, batch: Batch | None, start: int, entries: list[str], timestamp, tagger: BaseTagger) -> None:
    """Tag `entries` and store them at positions start.. of `order`; storing twice is a no-op."""
    results = tagger.tag(entries)
    with transaction.atomic():
        Log.objects.bulk_create(
            [
                Log(
                    owner_id=order.owner_id, entry=entry, timestamp=timestamp, batch=batch, order_id=order.pk,
                    position=start + offset, error=(result.error or "")[:255],
                )
                for offset, (entry, result) in enumerate(zip(entries, results, strict=True))
            ],
            ignore_conflicts=True,
        )
        ids = dict(
            Log.objects.filter(order_id=order.pk, position__gte=start, position__lt=start + len(entries))
            .values_list("position", "id")
        )
        Tag.objects.bulk_create(
            [
                Tag(type=TAG_TYPE, value=value, log_id=ids[start + offset], timestamp=timestamp)
                for offset, result in enumerate(results)
                for value in result.tags
            ],
            ignore_conflicts=True,
        )
