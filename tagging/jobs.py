"""The `tagging` resource: find the tech stack in log entries.

One entry is tagged by the order's own job. Many entries (a JSON list or a CSV file) go
in two steps: the order's job reads them row by row into Log rows (unusable rows are
recorded with their line and reason), then fans out into parts of contiguous positions
that any number of workers tag side by side; the last part to finish counts the batch.
Each step is safe to run twice: logs are unique per (order, position), tags per
(log, type, value), rejected rows per (batch, line).
"""
from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from datetime import datetime
from datetime import timezone as dt_timezone
from itertools import islice

from django.db import transaction
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from rest_framework.parsers import MultiPartParser

from asyncrest import ProgressItems, RunningOrder, fail_on_error, fan_out, register
from asyncrest.api.parsers import JSONParser

from .models import Batch, Log, RejectedRow, Tag
from .parsers import CSVParser
from .serializers import TaggingOrderSerializer, max_entry_length
from .taggers import TAG_TYPE, BaseTagger, Usage, get_tagger
from .uploads import read_rows, upload_path

logger = logging.getLogger("tagging.jobs")

#: Rows per insert while reading a batch.
STORE_CHUNK = 1000
#: Rows per part, and the most parts one order is split into (bigger parts beyond that).
PART_SIZE = 1000
MAX_PARTS = 256


@register("tagging", serializer=TaggingOrderSerializer, parsers=[JSONParser, MultiPartParser, CSVParser], timeout=600)
def tag_logs(order: RunningOrder):
    """Tag the order's entry (returns its Log), or store its entries and fan out (returns a FanOut)."""
    data = order.input
    timestamp = parse_datetime(data["timestamp"]) if data.get("timestamp") else order.created_at
    if "entry" in data:
        with fail_on_error(order, "Tagging failed", code="tagging_failed"):
            tagger = get_tagger()
            try:
                with ProgressItems(order, [[data["entry"]]], total=1, weight=len, message="Tagging the entry") as items:
                    for chunk in items:
                        store_tagged(order, chunk, tagger, timestamp)
            finally:
                tagger.close()
        return Log.objects.get(order_id=order.id, position=0)

    filename = data.get("csv", {}).get("filename", "")
    batch, _ = Batch.objects.get_or_create(order_id=order.id, defaults={"owner_id": order.owner_id, "filename": filename})
    if "csv" in data:
        rows = (
            (row.line, row.entry, row.timestamp)
            for row in read_rows(upload_path(order.id), data["csv"]["layout"])
        )
        message = "Reading the CSV file"
    else:
        rows = ((index + 1, entry, None) for index, entry in enumerate(data["entries"]))
        message = "Storing the entries"
    with fail_on_error(order, "The entries could not be read", code="unreadable_input"):
        stored = store_rows(order, batch, rows, timestamp, message=message)
    size = max(PART_SIZE, -(-stored // MAX_PARTS))
    ranges = [(start, min(start + size, stored)) for start in range(0, stored, size)]
    return fan_out(
        order,
        [{"start": start, "stop": stop} for start, stop in ranges],
        part=tag_part,
        then=finish_batch,
        totals=[stop - start for start, stop in ranges],
        message="Tagging entries",
    )


def store_rows(order: RunningOrder, batch: Batch, rows: Iterable[tuple], default_timestamp: datetime, *, message) -> int:
    """Store usable rows as logs at positions 0.. and unusable ones as rejected rows; return the logs' count."""
    position = 0
    # A batch order's processed/total/progress count the tagging that follows, so that they
    # only ever go up: while rows are stored, the message alone counts them.
    progress = ProgressItems(order, chunked(rows, STORE_CHUNK), weight=len, message=message,
                             indeterminate=True, unit="rows read")
    with progress as chunks:
        for chunk in chunks:
            logs, rejected = [], []
            for line, entry, raw_timestamp in chunk:
                reason = row_problem(entry, raw_timestamp)
                if reason:
                    rejected.append(RejectedRow(batch=batch, line=line, reason=reason))
                    continue
                logs.append(
                    Log(
                        owner_id=order.owner_id, entry=entry, batch=batch, order_id=order.pk,
                        position=position, line=line,
                        timestamp=to_datetime(raw_timestamp) if raw_timestamp else default_timestamp,
                    )
                )
                position += 1
            with transaction.atomic():
                Log.objects.bulk_create(logs, ignore_conflicts=True)
                RejectedRow.objects.bulk_create(rejected, ignore_conflicts=True)
    return position


def row_problem(entry: str | None, raw_timestamp: str | None) -> str:
    """Return why a row cannot be used, or an empty string."""
    if entry is None:
        return "the row has no `entry` field"
    if not entry.strip():
        return "the entry is empty"
    if len(entry) > max_entry_length():
        return f"the entry is {len(entry):,} characters long; the limit is {max_entry_length():,}"
    if "\x00" in entry:
        return "the entry contains a NUL character"
    if raw_timestamp and raw_timestamp.strip() and to_datetime(raw_timestamp) is None:
        return f"the timestamp {raw_timestamp[:40]!r} is not an ISO 8601 date and time"
    return ""


def to_datetime(raw: str) -> datetime | None:
    """Parse an ISO 8601 date and time (a naive one is taken as UTC); None if it is not one."""
    try:
        value = parse_datetime(raw.strip())
    except ValueError:
        return None
    if value is not None and timezone.is_naive(value):
        value = timezone.make_aware(value, dt_timezone.utc)
    return value


def tag_part(order, part) -> None:
    """Tag the logs at positions start..stop of the order (one part of a fanned-out batch)."""
    with fail_on_error(order, "Tagging failed", code="tagging_failed"):
        tagger = get_tagger()
        spent: Counter[str] = Counter()
        try:
            logs = list(
                Log.objects.filter(order_id=order.pk, position__gte=part.input["start"], position__lt=part.input["stop"])
                .order_by("position")
                .values_list("id", "entry")
            )
            with ProgressItems(part, chunked(logs, tagger.batch_size), total=len(logs), weight=len,
                               message="Tagging entries") as chunks:
                for chunk in chunks:
                    try:
                        results = tagger.tag([entry for _, entry in chunk])
                    finally:
                        # Spent even when the call failed: a failed order's requests cost too.
                        spent.update(record_usage(order, tagger.last_usage))
                    store_tags([log_id for log_id, _ in chunk], results)
        finally:
            tagger.close()
            if spent:
                totals = " ".join(f"{name}={value}" for name, value in sorted(spent.items()))
                logger.info("order %s part %s tagging usage: %s", order.pk, part.index, totals)


def finish_batch(order: RunningOrder) -> Batch:
    """Count the batch's results once every part is done (the upload goes when the order ends)."""
    batch = Batch.objects.get(order_id=order.id)
    logs = Log.objects.filter(batch=batch)
    batch.failed = logs.exclude(error="").count()
    batch.tagged = logs.count() - batch.failed
    batch.rejected = batch.rejected_rows.count()
    batch.rows = batch.tagged + batch.failed + batch.rejected
    batch.save(update_fields=["failed", "tagged", "rejected", "rows"])
    return batch


def chunked(items: Iterable, size: int) -> Iterator[list]:
    """Yield `items` in lists of at most `size`."""
    iterator = iter(items)
    while chunk := list(islice(iterator, size)):
        yield chunk


def record_usage(order: RunningOrder, usage: Usage) -> dict[str, int]:
    """Add what a `tag()` call spent to the order's usage and return it; nothing to add, no write."""
    counts = {
        "requests": usage.requests, "prompt_tokens": usage.prompt_tokens,
        "completion_tokens": usage.completion_tokens, **usage.extra,
    }
    counts = {name: value for name, value in counts.items() if value}
    order.add_usage(counts)
    return counts


def store_tagged(order, entries: Sequence[str], tagger: BaseTagger, timestamp: datetime) -> None:
    """Tag the order's entries and store them at positions 0..; storing twice is a no-op."""
    results = tagger.tag(entries)
    record_usage(order, tagger.last_usage)
    with transaction.atomic():
        Log.objects.bulk_create(
            [
                Log(owner_id=order.owner_id, entry=entry, timestamp=timestamp, order_id=order.pk, position=offset,
                    error=(result.error or "")[:255])
                for offset, (entry, result) in enumerate(zip(entries, results, strict=True))
            ],
            ignore_conflicts=True,
        )
        ids = list(Log.objects.filter(order_id=order.pk).order_by("position").values_list("id", flat=True))
        store_tags(ids, results)


def store_tags(log_ids: Sequence[int], results) -> None:
    """Store each result's tags on its log, and its error if it has one; storing twice is a no-op."""
    with transaction.atomic():
        Tag.objects.bulk_create(
            [
                Tag(type=TAG_TYPE, value=value, log_id=log_id)
                for log_id, result in zip(log_ids, results, strict=True)
                for value in result.tags
            ],
            ignore_conflicts=True,
        )
        failed = [Log(id=log_id, error=result.error[:255]) for log_id, result in zip(log_ids, results) if result.error]
        if failed:
            Log.objects.bulk_update(failed, ["error"])

