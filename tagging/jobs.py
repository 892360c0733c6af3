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
import re
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from datetime import date, datetime
from datetime import timezone as dt_timezone
from itertools import islice

from django.conf import settings
from django.db import models, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from rest_framework.parsers import MultiPartParser

from asyncrest import OrderCancelled, ProgressItems, RunningOrder, fail_on_error, fan_out, get_resource, register
from asyncrest.api.parsers import JSONParser

from .coalesced import entry_timestamp, is_one_entry, tag_entries
from .models import Batch, Log, RejectedRow, Tag
from .parsers import CSVParser
from .serializers import TaggingOrderSerializer, max_entry_length
from .taggers import TAG_TYPE, BaseTagger, TaggerError, Usage, get_tagger
from .uploads import Row, delete_upload, read_rows, upload_path

logger = logging.getLogger("tagging.jobs")

#: Rows per insert while reading a batch.
STORE_CHUNK = 1000
#: Rows per part, and the most parts one order is split into (bigger parts beyond that).
PART_SIZE = 1000
MAX_PARTS = 256
#: The timestamps a log may have, in UTC: MySQL's DATETIME starts at year 1000, and a day
#: short of year 9999's end keeps the time in year 9999 when shown in any time zone.
EARLIEST = datetime(1000, 1, 1, tzinfo=dt_timezone.utc)
LATEST = datetime(9999, 12, 31, tzinfo=dt_timezone.utc)
#: Longer than any ISO 8601 date and time: such a value is not parsed at all.
MAX_TIMESTAMP_LENGTH = 64
#: How much of a bad value a reason quotes.
SHOWN = 40
#: The start of an ISO 8601 calendar date, to say which part of an impossible date is wrong.
DATE_START = re.compile(r"(\d{4})-(\d{1,2})-(\d{1,2})(?![0-9])", re.ASCII)
#: The most a rejected row's reason holds (its column's length).
REASON_LENGTH = 255


def tolerance() -> int | float | None:
    """The failed entries a batch may have and still complete: `TAGGING["TOLERATE"]`, a count or a share
    (by default half: a batch completes with its failed entries listed unless more than half failed;
    0 or None: any failure fails it)."""
    return (getattr(settings, "TAGGING", None) or {}).get("TOLERATE", 0.5) or None


#: Logs detached per statement when their orders are purged.
PURGE_CHUNK = 5000


def purge_results(order_ids) -> None:
    """Before tagging orders are purged: their logs and batches are the user's and stay (detached
    from the order, a chunk of logs per statement); an upload left behind is deleted."""
    for order_id in order_ids:
        delete_upload(order_id)
    while chunk := list(Log.objects.filter(order_id__in=order_ids).values_list("pk", flat=True)[:PURGE_CHUNK]):
        Log.objects.filter(pk__in=chunk).update(order=None)


@register("tagging", serializer=TaggingOrderSerializer, parsers=[JSONParser, MultiPartParser, CSVParser], timeout=600,
          coalesce=50, coalesce_if=is_one_entry, many=tag_entries, tolerate=tolerance(), purge=purge_results)
def tag_logs(order: RunningOrder):
    """Tag the order's entry (returns its Log), or store its entries and fan out (returns a FanOut).

    The retry of a batch (`POST /async/orders/<id>/retry/`) stores and tags only the entries
    its original did not tag.
    """
    data = order.input
    timestamp = entry_timestamp(order)
    if order.retry_of and "entry" not in data and Log.objects.filter(order_id=order.retry_of).exists():
        batch, _ = Batch.objects.get_or_create(order_id=order.id, defaults={
            "owner_id": order.owner_id, "filename": data.get("csv", {}).get("filename", "")})
        with fail_on_error(order, "The entries to retry could not be read", code="unreadable_input"):
            stored = store_retried(order, batch)
        return fan_out_entries(order, stored)
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
        rows = read_rows(upload_path(order.id), data["csv"]["layout"])
        message = "Reading the CSV file"
    else:
        rows = (Row(index + 1, entry, None) for index, entry in enumerate(data["entries"]))
        message = "Storing the entries"
    with fail_on_error(order, "The entries could not be read", code="unreadable_input"):
        stored = store_rows(order, batch, rows, timestamp, message=message)
    return fan_out_entries(order, stored)


def fan_out_entries(order: RunningOrder, stored: int):
    """Tag the order's `stored` logs in parts of contiguous positions."""
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


def store_rows(order: RunningOrder, batch: Batch, rows: Iterable[Row], default_timestamp: datetime, *, message) -> int:
    """Store usable rows as logs at positions 0.. and unusable ones as rejected rows; return the logs' count."""
    position = 0
    # A batch order's processed/total/progress count the tagging that follows, so that they
    # only ever go up: while rows are stored, the message alone counts them.
    progress = ProgressItems(order, chunked(rows, STORE_CHUNK), weight=len, message=message,
                             indeterminate=True, unit="rows read")
    with progress as chunks:
        for chunk in chunks:
            logs, rejected = [], []
            for row in chunk:
                reason = row_problem(row)
                if reason:
                    rejected.append(RejectedRow(batch=batch, line=row.line, reason=reason[:REASON_LENGTH]))
                    continue
                logs.append(
                    Log(
                        owner_id=order.owner_id, entry=row.entry, batch=batch, order_id=order.pk,
                        position=position, line=row.line,
                        timestamp=log_timestamp(row.timestamp, default_timestamp),
                    )
                )
                position += 1
            with transaction.atomic():
                Log.objects.bulk_create(logs, ignore_conflicts=True)
                RejectedRow.objects.bulk_create(rejected, ignore_conflicts=True)
    return position


def untagged_logs(order_id) -> models.QuerySet:
    """The logs of a finished batch order that were not tagged: those that failed, and those its parts
    did not reach (a part that failed, or was cancelled, after tagging the first `processed` of its logs)."""
    from asyncrest.models import Part, Status

    missing = Q(error__gt="")
    for part in Part.objects.filter(order_id=order_id).exclude(status=Status.COMPLETED).only("input", "processed"):
        start, stop = part.input["start"], part.input["stop"]
        missing |= Q(position__gte=start + min(part.processed, stop - start), position__lt=stop)
    return Log.objects.filter(missing, order_id=order_id)


def store_retried(order: RunningOrder, batch: Batch) -> int:
    """Store, as this order's logs at positions 0.., the entries its original did not tag; return how many."""
    position = 0
    rows = untagged_logs(order.retry_of).order_by("position").values_list("entry", "line", "timestamp")
    with ProgressItems(order, chunked(rows.iterator(chunk_size=STORE_CHUNK), STORE_CHUNK), weight=len,
                       message="Reading the entries to retry", indeterminate=True, unit="entries read") as chunks:
        for chunk in chunks:
            logs = []
            for entry, line, timestamp in chunk:
                logs.append(Log(owner_id=order.owner_id, entry=entry, batch=batch, order_id=order.id,
                                position=position, line=line, timestamp=timestamp))
                position += 1
            Log.objects.bulk_create(logs, ignore_conflicts=True)
    return position


def row_problem(row: Row) -> str:
    """Return why `row` cannot be stored as a log, in a sentence for people, or an empty string."""
    return row.problem or entry_problem(row.entry) or timestamp_problem(row.timestamp)


def entry_problem(entry: str | None) -> str:
    """Return why `entry` cannot be a log's entry, or an empty string."""
    if entry is None:
        return "the row has no `entry` field"
    if not entry.strip():
        return "the entry is empty"
    if len(entry) > max_entry_length():
        return f"the entry is {len(entry):,} characters long; the limit is {max_entry_length():,}"
    if "\x00" in entry:
        return "the entry contains a NUL character"
    return ""


def timestamp_problem(raw: str | None) -> str:
    """Return why `raw` cannot be a log's timestamp, or an empty string (a blank one is the order's time)."""
    if is_blank(raw):
        return ""
    try:
        to_datetime(raw)
    except BadTimestamp as exc:
        return str(exc)
    return ""


def log_timestamp(raw: str | None, default: datetime) -> datetime:
    """Return the time of a log whose timestamp `timestamp_problem` accepted: `raw`'s, or `default` if it is blank."""
    return default if is_blank(raw) else to_datetime(raw)


def is_blank(raw: str | None) -> bool:
    """Tell whether a timestamp field is missing, empty or only spaces."""
    return raw is None or not raw.strip()


class BadTimestamp(ValueError):
    """A timestamp that cannot be a log's; the message says why, for people."""


def to_datetime(raw: str) -> datetime:
    """Return ISO 8601 `raw` as an aware UTC datetime from EARLIEST to before LATEST (a naive one is UTC),
    or raise `BadTimestamp` saying why not."""
    text = raw.strip()
    if "\x00" in text:
        raise BadTimestamp("the timestamp contains a NUL character")
    value = parse_iso(text)
    if value is None:
        raise BadTimestamp(impossible_date(text) or f"the timestamp {shown(text)} is not an ISO 8601 date and time")
    value = in_utc(value)
    if value is None or not EARLIEST <= value < LATEST:
        raise BadTimestamp(
            f"the timestamp {shown(text)} is out of range: it must be from 1000-01-01 to 9999-12-30 (UTC)"
        )
    return value


def parse_iso(text: str) -> datetime | None:
    """Return the datetime that ISO 8601 `text` says, naive or aware, or None if it says none."""
    if len(text) > MAX_TIMESTAMP_LENGTH:
        return None
    try:
        return parse_datetime(text)
    except ValueError:  # well formed, but no such time (hour 25, day 30 of February)
        return None


def in_utc(value: datetime) -> datetime | None:
    """Return `value` in UTC (a naive one is taken as UTC), or None if that falls outside Python's years 1 to 9999."""
    if timezone.is_naive(value):
        return value.replace(tzinfo=dt_timezone.utc)
    try:
        return value.astimezone(dt_timezone.utc)
    except OverflowError:
        return None


def impossible_date(text: str) -> str:
    """Return the reason for a timestamp that starts with a calendar date that does not exist, or an empty string."""
    match = DATE_START.match(text)
    if match is None:
        return ""
    try:
        date(*map(int, match.groups()))
    except ValueError as exc:  # its text names the part: "month must be in 1..12"
        return f"the timestamp {shown(text)} is not a date that exists ({exc})"
    return ""


def shown(value: str) -> str:
    """Return `value` quoted for a reason, cut to SHOWN characters."""
    return repr(value if len(value) <= SHOWN else value[:SHOWN] + "…")


def tag_part(order, part) -> None:
    """Tag the logs at positions start..stop of the order (one part of a fanned-out batch).

    Where the resource tolerates failures (`TAGGING["TOLERATE"]`), a call the tagger cannot do
    at all (a `TaggerError`, once the tagger's own retries are spent) ends the part with its
    remaining logs marked failed with the reason, instead of failing the batch; entries the
    tagger returned an error for are failed too, and the part goes on. Each is reported to
    the order's `counts.failed`, past which the order fails.
    """
    tolerant = get_resource(order.resource).tolerates()
    with fail_on_error(order, "Tagging failed", code="tagging_failed"):
        tagger = get_tagger()
        spent: Counter[str] = Counter()
        failed = reported = 0
        try:
            logs = list(
                Log.objects.filter(order_id=order.pk, position__gte=part.input["start"], position__lt=part.input["stop"])
                .order_by("position")
                .values_list("id", "entry")
            )
            with ProgressItems(part, chunked(logs, tagger.batch_size), total=len(logs), weight=len,
                               message="Tagging entries") as chunks:
                for done, chunk in enumerate(chunks):
                    first_error, stop = None, False
                    try:
                        results = tagger.tag([entry for _, entry in chunk])
                    except TaggerError as exc:
                        if not tolerant:
                            raise
                        # The tagger cannot tag at all (its own retries are spent): this part's
                        # remaining entries are failed, and the part ends.
                        left = [log_id for log_id, _ in logs[done * tagger.batch_size:]]
                        logger.warning("order %s part %s: %s entries not tagged: %s", order.pk, part.index,
                                       len(left), exc)
                        reason = f"Tagging failed: {exc}"[:REASON_LENGTH]
                        Log.objects.filter(id__in=left).update(error=reason)
                        failed += len(left)
                        first_error, stop = (exc.code, reason), True
                    else:
                        store_tags([log_id for log_id, _ in chunk], results)
                        errors = [result.error for result in results if result.error]
                        failed += len(errors)
                        first_error = ("tagging_failed", errors[0][:REASON_LENGTH]) if errors else None
                    finally:
                        # Spent even when the call failed: a failed order's requests cost too.
                        spent.update(record_usage(order, tagger.last_usage))
                    if failed > reported:
                        code, reason = first_error or ("", "")
                        if not part.report_failures(failed, code=code, message=reason):
                            raise OrderCancelled(f"{part}: its order stopped")
                        reported = failed
                    if stop:
                        chunks.advance(len(logs) - done * tagger.batch_size)
                        break
        finally:
            tagger.close()
            if spent:
                totals = " ".join(f"{name}={value}" for name, value in sorted(spent.items()))
                logger.info("order %s part %s tagging usage: %s", order.pk, part.index, totals)


def finish_batch(order: RunningOrder) -> Batch:
    """Count the batch's results once every part is done (the upload goes when the order ends).

    The logs a failed part did not reach are marked failed first, with the part's error.
    """
    for part in order.failed_parts():
        start, stop = part.input["start"], part.input["stop"]
        Log.objects.filter(order_id=order.id, position__gte=start + min(part.processed, stop - start),
                           position__lt=stop, error="").update(error=part.error_message[:REASON_LENGTH] or "Not tagged")
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
    counts = {name: value for name, value in usage.counts().items() if value}
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

