"""The tagging endpoints in the OpenAPI schema: the order's input variants, the results' parameters."""
from __future__ import annotations

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiExample,
    OpenApiParameter,
    OpenApiRequest,
    OpenApiResponse,
    PolymorphicProxySerializer,
    extend_schema,
    extend_schema_view,
)
from rest_framework import serializers

from .serializers import LogSerializer, TaggingOrderSerializer


class TaggingEntryOrderSerializer(TaggingOrderSerializer):
    """One log entry: the result is a log."""

    entry = serializers.CharField(help_text="One log entry, at most 10,000 characters.")
    entries = None
    file = None


class TaggingEntriesOrderSerializer(TaggingOrderSerializer):
    """Many log entries: the result is a batch."""

    entries = serializers.ListField(
        child=serializers.CharField(), allow_empty=False, help_text="Log entries, at most 10,000 of them."
    )
    entry = None
    file = None


class TaggingFileOrderSerializer(TaggingOrderSerializer):
    """A CSV file: the result is a batch, with the rows that could not be used."""

    file = serializers.FileField(
        help_text="CSV with a header row: an `entry` column (any case), an optional `timestamp` column; "
        "`,` `;` or tab; UTF-8 with or without BOM."
    )
    entry = None
    entries = None


class TagCountSerializer(serializers.Serializer):
    type = serializers.CharField()
    value = serializers.CharField()
    count = serializers.IntegerField()


#: The tagging order's request bodies (see asyncrest.api.schema.OrderCreateSchema).
ORDER_REQUEST = {
    "application/json": OpenApiRequest(
        PolymorphicProxySerializer(
            component_name="TaggingJSONOrder",
            serializers=[TaggingEntryOrderSerializer, TaggingEntriesOrderSerializer],
            resource_type_field_name=None,
        ),
        examples=[
            OpenApiExample("One entry", value={"entry": "wrote a program using Python Django"}),
            OpenApiExample("Many entries", value={"entries": ["deployed Postgres on k8s", "fixed a React bug"]}),
        ],
    ),
    "multipart/form-data": TaggingFileOrderSerializer,
    "text/csv": {
        "type": "string",
        "format": "binary",
        "description": "The CSV file as the raw body: a header row with an `entry` column.",
    },
}

log_list_docs = extend_schema_view(
    get=extend_schema(
        tags=["tagging"],
        parameters=[
            OpenApiParameter("tag", str, description="Only logs with this tag (any case, any alias: `postgres`)."),
            OpenApiParameter("batch", OpenApiTypes.UUID, description="Only the logs of this batch, in file order."),
        ],
        responses={
            200: LogSerializer(many=True),
            400: OpenApiResponse(OpenApiTypes.OBJECT, description="A `batch` that is not a UUID."),
        },
    ),
)

tag_counts_docs = extend_schema_view(
    get=extend_schema(tags=["tagging"], responses={200: TagCountSerializer(many=True)}),
)

batch_export_docs = extend_schema_view(
    get=extend_schema(
        tags=["tagging"],
        responses={
            (200, "text/csv"): OpenApiResponse(
                OpenApiTypes.BINARY,
                description="`line,entry,timestamp,tags,error`, UTF-8 with BOM; formula-like cells prefixed with `'`.",
            ),
            (404, "application/json"): OpenApiResponse(description="Unknown, or not yours."),
        },
    ),
)
