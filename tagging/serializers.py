"""The tagging resource's input and its results."""
from __future__ import annotations

from django.conf import settings
from django.urls import reverse
from rest_framework import serializers

from asyncrest.api.exceptions import PayloadTooLarge

from .models import Batch, Log, Tag
from .uploads import UploadError, check_upload, delete_upload, save_upload

MAX_ENTRY_LENGTH = 10_000
MAX_ENTRIES = 10_000


def max_entry_length() -> int:
    return getattr(settings, "TAGGING_MAX_ENTRY_LENGTH", MAX_ENTRY_LENGTH)


def max_entries() -> int:
    return getattr(settings, "TAGGING_MAX_ENTRIES", MAX_ENTRIES)


class TaggingOrderSerializer(serializers.Serializer):
    """One `entry`, a list of `entries`, or a CSV `file`, with an optional `timestamp` for them."""

    #: Its input variants in the OpenAPI schema: JSON entry or entries, a multipart file, raw CSV.
    openapi_request = "tagging.schema.ORDER_REQUEST"

    entry = serializers.CharField(required=False, help_text="One log entry.")
    entries = serializers.ListField(
        child=serializers.CharField(), required=False, allow_empty=False, help_text="Many log entries."
    )
    file = serializers.FileField(
        required=False, allow_empty_file=True,
        help_text="A CSV file with an `entry` column and an optional `timestamp` column.",
    )
    timestamp = serializers.DateTimeField(required=False, help_text="When the work was done (ISO 8601).")

    def validate_file(self, value) -> dict:
        """Check the upload, refusing a file that is empty, not UTF-8, headless or too large.

        Nothing is stored yet: that waits until the order is accepted (`prepare_order`).
        """
        try:
            checked = check_upload(value)
        except UploadError as exc:
            if exc.status == 413:
                raise PayloadTooLarge(str(exc)) from exc
            raise serializers.ValidationError(str(exc)) from exc
        checked["filename"] = getattr(value, "name", "")[:200]
        self._upload = value
        return checked

    def validate_entry(self, value: str) -> str:
        if len(value) > max_entry_length():
            raise serializers.ValidationError(f"Ensure this field has no more than {max_entry_length()} characters.")
        return value

    def validate_entries(self, value: list[str]) -> list[str]:
        if len(value) > max_entries():
            raise serializers.ValidationError(
                f"Send at most {max_entries()} entries per order; upload a CSV file for more."
            )
        too_long = {
            str(i): [f"Ensure this field has no more than {max_entry_length()} characters."]
            for i, entry in enumerate(value)
            if len(entry) > max_entry_length()
        }
        if too_long:
            raise serializers.ValidationError(too_long)
        return value

    def validate(self, attrs: dict) -> dict:
        given = [name for name in ("entry", "entries", "file") if name in attrs]
        if len(given) != 1:
            raise serializers.ValidationError(
                {"non_field_errors": [
                    "Send exactly one of `entry` (a string), `entries` (a list of strings) or `file` (a CSV file)."
                ]},
                code="entry_or_entries",
            )
        return attrs

    def order_input(self) -> dict:
        """Return the order's input; a file is described by its size, digest and layout."""
        data = dict(self.validated_data)
        checked = data.pop("file", None)
        if checked is not None:
            data["csv"] = checked
        return data

    def prepare_order(self, order) -> None:
        """Store the upload of the accepted order under its id, for the job to read."""
        upload = getattr(self, "_upload", None)
        if upload is not None:
            save_upload(upload, order.pk)

    def discard_order(self, order) -> None:
        """Remove what `prepare_order` stored: the order could not be placed after all."""
        delete_upload(order.pk)


class TagSerializer(serializers.ModelSerializer):
    class Meta:
        model = Tag
        fields = ["type", "value"]


class LogSerializer(serializers.ModelSerializer):
    tags = TagSerializer(many=True, read_only=True)
    url = serializers.HyperlinkedIdentityField(view_name="tagging:log-detail")

    class Meta:
        model = Log
        fields = ["id", "url", "entry", "timestamp", "tags"]


class BatchSerializer(serializers.ModelSerializer):
    url = serializers.HyperlinkedIdentityField(view_name="tagging:batch-detail")
    logs_url = serializers.SerializerMethodField()
    export_url = serializers.SerializerMethodField()
    rejected_rows = serializers.SerializerMethodField()
    failed_rows = serializers.SerializerMethodField()
    top_tags = serializers.SerializerMethodField()

    #: At most this many rejected (and failed) rows are listed; `rejected` (`failed`) counts them all.
    rejected_rows_shown = 1000

    class Meta:
        model = Batch
        fields = [
            "id", "url", "created_at", "filename", "rows", "tagged", "failed", "rejected", "rejected_rows",
            "failed_rows", "logs_url", "export_url", "top_tags",
        ]

    def _absolute(self, path: str) -> str:
        request = self.context.get("request")
        return request.build_absolute_uri(path) if request else path

    def get_logs_url(self, batch: Batch) -> str:
        return self._absolute(f"{reverse('tagging:log-list')}?batch={batch.pk}")

    def get_export_url(self, batch: Batch) -> str:
        return self._absolute(reverse("tagging:batch-export", kwargs={"pk": batch.pk}))

    def get_rejected_rows(self, batch: Batch) -> list[dict]:
        rows = batch.rejected_rows.order_by("line")[: self.rejected_rows_shown]
        return [{"line": row.line, "reason": row.reason} for row in rows]

    def get_failed_rows(self, batch: Batch) -> list[dict]:
        """The entries that were stored but could not be tagged, with why: what a retry of the order redoes."""
        rows = batch.logs.exclude(error="").order_by("position").values("line", "position", "error")
        return [{"line": row["line"], "position": row["position"], "reason": row["error"]}
                for row in rows[: self.rejected_rows_shown]]

    def get_top_tags(self, batch: Batch) -> list[dict]:
        from django.db.models import Count

        rows = (
            Tag.objects.filter(log__batch=batch)
            .values("value")
            .annotate(count=Count("id"))
            .order_by("-count", "value")[:10]
        )
        return [{"value": row["value"], "count": row["count"]} for row in rows]
