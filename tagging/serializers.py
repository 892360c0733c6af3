"""The tagging resource's input and its results."""
from __future__ import annotations

from django.conf import settings
from rest_framework import serializers

from .models import Batch, Log, Tag

MAX_ENTRY_LENGTH = 10_000
MAX_ENTRIES = 10_000


def max_entry_length() -> int:
    return getattr(settings, "TAGGING_MAX_ENTRY_LENGTH", MAX_ENTRY_LENGTH)


def max_entries() -> int:
    return getattr(settings, "TAGGING_MAX_ENTRIES", MAX_ENTRIES)


class TaggingOrderSerializer(serializers.Serializer):
    """Either one `entry` or a list of `entries`, with an optional `timestamp` for them."""

    entry = serializers.CharField(required=False, help_text="One log entry.")
    entries = serializers.ListField(
        child=serializers.CharField(), required=False, allow_empty=False, help_text="Many log entries."
    )
    timestamp = serializers.DateTimeField(required=False, help_text="When the work was done (ISO 8601).")

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
        given = [name for name in ("entry", "entries") if name in attrs]
        if len(given) != 1:
            raise serializers.ValidationError(
                {"non_field_errors": ["Send exactly one of `entry` (a string) or `entries` (a list of strings)."]},
                code="entry_or_entries",
            )
        return attrs


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
    logs_url = serializers.SerializerMethodField()
    top_tags = serializers.SerializerMethodField()

    class Meta:
        model = Batch
        fields = ["id", "created_at", "rows", "tagged", "rejected", "rejected_rows", "logs_url", "top_tags"]

    def get_logs_url(self, batch: Batch) -> str:
        from django.urls import reverse

        path = f"{reverse('tagging:log-list')}?batch={batch.pk}"
        request = self.context.get("request")
        return request.build_absolute_uri(path) if request else path

    def get_top_tags(self, batch: Batch) -> list[dict]:
        from django.db.models import Count

        rows = (
            Tag.objects.filter(log__batch=batch)
            .values("value")
            .annotate(count=Count("id"))
            .order_by("-count", "value")[:10]
        )
        return [{"value": row["value"], "count": row["count"]} for row in rows]
