"""Read the results of tagging orders: logs, batches and tag counts, each owner's own."""
from __future__ import annotations

import csv
import io
import json
import re
import unicodedata
import uuid
from collections.abc import Iterator

from django.db.models import Count
from django.http import StreamingHttpResponse
from rest_framework import generics
from rest_framework.exceptions import ValidationError
from rest_framework.renderers import BaseRenderer, JSONRenderer
from rest_framework.response import Response
from rest_framework.views import APIView

from .models import Batch, Log, Tag
from .schema import batch_export_docs, log_list_docs, tag_counts_docs
from .serializers import BatchSerializer, LogSerializer
from .taggers.keywords import canonical_name


#: C0 control characters but tab, and DEL: no tag has them, and PostgreSQL refuses NUL.
CONTROL = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]")


class OwnedMixin:
    """Limit the queryset to the requesting user's rows (others' rows are 404)."""

    def get_queryset(self):
        return super().get_queryset().filter(owner=self.request.user)


@log_list_docs
class LogList(OwnedMixin, generics.ListAPIView):
    """List your logs, filtered by `?tag=` (a tag value) and `?batch=` (a batch id)."""

    queryset = Log.objects.prefetch_related("tags")
    serializer_class = LogSerializer

    def get_queryset(self):
        queryset = super().get_queryset()
        params = self.request.query_params
        if params.get("tag") and CONTROL.search(params["tag"]):
            # A NUL would reach PostgreSQL, which refuses it with an error (a 500).
            raise ValidationError({"tag": ["Must be text without control characters."]})
        if params.get("tag"):
            # ?tag=postgres finds PostgreSQL: the same canonical names the taggers store.
            tag = canonical_name(params["tag"]) or params["tag"]
            queryset = queryset.filter(tags__value__iexact=tag).distinct()
        if params.get("batch"):
            try:
                batch = uuid.UUID(params["batch"])
            except ValueError:
                raise ValidationError({"batch": ["Must be a batch id (a UUID)."]}) from None
            queryset = queryset.filter(batch_id=batch).order_by("position")
        return queryset


class LogDetail(OwnedMixin, generics.RetrieveAPIView):
    """Show one of your logs with its tags."""

    queryset = Log.objects.prefetch_related("tags")
    serializer_class = LogSerializer


class BatchDetail(OwnedMixin, generics.RetrieveAPIView):
    """Show one of your batches: its counts, rejected and failed rows, top tags and links to its logs and export."""

    queryset = Batch.objects.all()
    serializer_class = BatchSerializer


@tag_counts_docs
class TagCounts(APIView):
    """Count your logs per tag, most frequent first."""

    def get(self, request, *args, **kwargs):
        rows = (
            Tag.objects.filter(log__owner=request.user)
            .values("type", "value")
            .annotate(count=Count("id"))
            .order_by("-count", "value")
        )
        return Response([{"type": r["type"], "value": r["value"], "count": r["count"]} for r in rows])


class CSVRenderer(BaseRenderer):
    """Let clients that accept only text/csv reach the export (errors are JSON text)."""

    media_type = "text/csv"
    format = "csv"
    charset = "utf-8"

    def render(self, data, accepted_media_type=None, renderer_context=None) -> bytes:
        return json.dumps(data).encode()


@batch_export_docs
class BatchExport(OwnedMixin, generics.RetrieveAPIView):
    """Download a batch's logs as CSV (line, entry, timestamp, tags, error), streamed row by row."""

    queryset = Batch.objects.all()
    renderer_classes = [JSONRenderer, CSVRenderer]

    def retrieve(self, request, *args, **kwargs):
        batch = self.get_object()
        response = StreamingHttpResponse(export_rows(batch), content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = f'attachment; filename="batch-{batch.pk}.csv"'
        return response


def export_rows(batch: Batch) -> Iterator[str]:
    """Yield the export's CSV text, one row at a time, with memory flat whatever the batch's size."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)

    def line(fields) -> str:
        buffer.seek(0)
        buffer.truncate()
        writer.writerow([spreadsheet_safe(str(field)) for field in fields])
        return buffer.getvalue()

    yield "\ufeff" + line(["line", "entry", "timestamp", "tags", "error"])  # BOM: Excel reads UTF-8
    logs = batch.logs.order_by("position").prefetch_related("tags").iterator(chunk_size=2000)
    for log in logs:
        tags = ", ".join(tag.value for tag in log.tags.all())
        yield line([log.line or "", log.entry, log.timestamp.isoformat(), tags, log.error])


#: What a cell that a spreadsheet runs as a formula starts with (OWASP's list; a tab or CR
#: first is defused whatever follows). Full-width and other compatibility forms count as
#: their ASCII letter: `first_read_character` folds them with NFKC.
FORMULA_STARTS = frozenset("=+-@")
RISKY_FIRST = frozenset("\t\r")
#: Quotes a spreadsheet reads past to the formula.
LEADING_QUOTES = frozenset("\"'")


def spreadsheet_safe(value: str) -> str:
    """Return `value` prefixed with `'` if a spreadsheet would run it as a formula (CSV injection), else unchanged."""
    # OWASP's advice, kept on purpose: any cell starting so is prefixed, a negative number too ("-5" → "'-5").
    if value[:1] in RISKY_FIRST or first_read_character(value) in FORMULA_STARTS:
        return "'" + value
    return value


def first_read_character(value: str) -> str:
    """Return the first character of `value` that a spreadsheet reads, in its NFKC form, or "" if there is none."""
    for char in value:
        # Spreadsheets trim spaces, line breaks, BOMs and zero-width characters (all of
        # Unicode's category Cf: U+200B–U+200D, U+2060, U+FEFF, bidi marks) and quotes.
        if char.isspace() or char in LEADING_QUOTES or unicodedata.category(char) == "Cf":
            continue
        return unicodedata.normalize("NFKC", char)[:1]
    return ""
