"""The order endpoints in the OpenAPI schema (drf-spectacular): one path per resource, every code and header."""
from __future__ import annotations

from django.utils.module_loading import import_string
from drf_spectacular.openapi import AutoSchema as SpectacularAutoSchema
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import serializers

from ..models import Status
from .serializers import OrderSerializer

HEADER = OpenApiParameter.HEADER


class DetailSerializer(serializers.Serializer):
    """An error as DRF answers it: `{"detail": "…"}`."""

    detail = serializers.CharField()


class HealthSerializer(serializers.Serializer):
    """What the health check found: "ok", or "error: <exception type>"."""

    database = serializers.CharField()
    redis = serializers.CharField()


def header(name: str, description: str, *, response: list[int] | bool = False, type=str) -> OpenApiParameter:
    return OpenApiParameter(name, type, HEADER, description=description, response=response)


def error(description: str) -> OpenApiResponse:
    return OpenApiResponse(DetailSerializer, description=description)


NOT_AUTHENTICATED = error("No credentials, or invalid ones (`Authorization: Token …` or a session).")
NOT_FOUND = error("Unknown, or not yours.")
GONE = (
    "Expired: the order finished and was deleted after its retention (`ASYNCREST[\"RETENTION\"]`). The body "
    "says what it was: `detail`, `id`, `resource`, `status`, `finished_at`, `purged_at`."
)
ETAG = "The order as shown, digested (weak); send it back in `If-None-Match`."

order_create_docs = extend_schema_view(
    post=extend_schema(
        tags=["orders"],
        parameters=[
            header(
                "Idempotency-Key",
                "Any token up to 255 characters. The same key from the same user within 24 h returns the "
                "same order (`Idempotent-Replayed: true`) and starts no new job; with a different body: 422.",
                type={"type": "string", "minLength": 1, "maxLength": 255},
            ),
            header(
                "Prefer",
                "`wait=N` (RFC 7240, N ≤ `LONG_POLL_MAX_WAIT`, 30): hold the answer until the order is finished "
                "or N s pass. Finished in time, the answer is the status monitor's (201 with the result's "
                "`Location`, or 200); else 202 as without it.",
            ),
            header("Location", "202: absolute URL of the order: poll it. 201: the result.", response=[201, 202]),
            header("Content-Location", "Absolute URL of the order (answers after `Prefer: wait`).",
                   response=[200, 201]),
            header("Retry-After", "Seconds to wait before polling (202), or before ordering again (429).",
                   response=[202, 429], type=int),
            header("Idempotent-Replayed", "`true` when an earlier order with this Idempotency-Key is returned.",
                   response=[200, 201, 202]),
            header("Preference-Applied", "`wait=N` when the request was held.", response=[200, 201, 202]),
        ],
        responses={
            200: OpenApiResponse(OrderSerializer, description="`Prefer: wait`: failed (see `error`) or cancelled."),
            201: OpenApiResponse(OrderSerializer, description="`Prefer: wait`: completed; `Location` is the result."),
            202: OpenApiResponse(OrderSerializer, description="Accepted: the order is queued; a worker runs its job."),
            400: OpenApiResponse(OpenApiTypes.OBJECT, description="Field errors: `{\"field\": [\"message\", …]}`."),
            401: NOT_AUTHENTICATED,
            404: error("There is no resource of this name."),
            413: error("The body is over `MAX_BODY_SIZE` (a file: `MAX_UPLOAD_SIZE`)."),
            415: error("Unsupported media type."),
            422: error("This Idempotency-Key was already used with a different request."),
            429: error("Too many orders (`ORDER_RATE`); try again after `Retry-After` seconds."),
        },
    ),
)

order_detail_docs = extend_schema_view(
    get=extend_schema(
        tags=["orders"],
        summary="Watch an order",
        parameters=[
            header(
                "Prefer",
                "`wait=N` (RFC 7240, N ≤ `LONG_POLL_MAX_WAIT`, 30): hold the answer until the order differs "
                "from what you saw (your `If-None-Match`, else the order on arrival) or N s pass: a long poll.",
            ),
            header("If-None-Match", "An `ETag` of this order: unchanged, the answer is 304."),
            header("Location", "Once completed: absolute URL of the result.", response=[201]),
            header("Retry-After", "Seconds to wait before polling again.", response=[202, 304], type=int),
            header("ETag", ETAG, response=[200, 201, 202, 304]),
            header("Preference-Applied", "`wait=N` when the request was held as a long poll.",
                   response=[200, 201, 202, 304]),
        ],
        responses={
            200: OpenApiResponse(OrderSerializer, description="Failed (see `error`) or cancelled."),
            201: OpenApiResponse(OrderSerializer, description="Completed: `Location` (`resource_url`) is the result."),
            202: OpenApiResponse(OrderSerializer, description="Queued or running: `progress`, `processed`, `total`."),
            304: OpenApiResponse(description="Not modified: the order still matches `If-None-Match`."),
            401: NOT_AUTHENTICATED,
            404: NOT_FOUND,
            410: OpenApiResponse(OpenApiTypes.OBJECT, description=GONE),
        },
    ),
    delete=extend_schema(
        tags=["orders"],
        summary="Cancel an order",
        parameters=[header("Retry-After", "Seconds to wait before polling again.", response=[202], type=int)],
        responses={
            200: OpenApiResponse(OrderSerializer, description="Cancelled at once (queued, or waiting for a retry)."),
            202: OpenApiResponse(OrderSerializer, description="Running: it stops at its next progress step."),
            401: NOT_AUTHENTICATED,
            404: NOT_FOUND,
            409: error("Already completed, failed or cancelled."),
            410: OpenApiResponse(OpenApiTypes.OBJECT, description=GONE),
        },
    ),
)

order_retry_docs = extend_schema_view(
    post=extend_schema(
        tags=["orders"],
        summary="Retry what a finished order did not do",
        description=(
            "Places a new order, linked to this one (`retry_of` in its body, `retried_by` in this one's), that "
            "redoes only this order's failed parts or items; the finished order itself never changes."
        ),
        request=None,
        parameters=[
            header("Idempotency-Key", "Sent again with the same key, the answer is the same new order."),
            header("Location", "Absolute URL of the new order.", response=[202]),
            header("Retry-After", "Seconds to wait before polling the new order.", response=[202], type=int),
        ],
        responses={
            202: OpenApiResponse(OrderSerializer, description="Accepted: the new order is queued."),
            401: NOT_AUTHENTICATED,
            404: NOT_FOUND,
            409: error("Still pending, or completed with nothing failed."),
            410: OpenApiResponse(OpenApiTypes.OBJECT, description=GONE),
            429: error("Too many orders placed."),
        },
    ),
)

order_list_docs = extend_schema_view(
    get=extend_schema(
        tags=["orders"],
        summary="List your orders",
        parameters=[
            OpenApiParameter("status", str, enum=Status.values, description="Only orders in this status."),
            OpenApiParameter("resource", str, description="Only orders of this resource."),
        ],
        responses={
            200: OrderSerializer(many=True),
            400: OpenApiResponse(OpenApiTypes.OBJECT, description="An unknown `status`."),
            401: NOT_AUTHENTICATED,
            404: error("No such page."),
        },
    ),
)

health_docs = extend_schema_view(
    get=extend_schema(
        tags=["health"],
        summary="Check the database and Redis",
        responses={
            200: OpenApiResponse(HealthSerializer, description="Both respond."),
            503: OpenApiResponse(HealthSerializer, description="One of them is down."),
        },
    ),
)


class SigningSecretStateSerializer(serializers.Serializer):
    exists = serializers.BooleanField()
    created_at = serializers.DateTimeField(allow_null=True)
    rotated_at = serializers.DateTimeField(allow_null=True)
    previous_valid_until = serializers.DateTimeField(allow_null=True, help_text="Until when the previous secret still signs.")


class SigningSecretSerializer(serializers.Serializer):
    secret = serializers.CharField(help_text="`whsec_<base64>`: verify your webhooks with it (Standard Webhooks).")
    previous_valid_until = serializers.DateTimeField(
        allow_null=True, help_text="Until when the previous secret signs too (webhooks carry both signatures)."
    )


signing_secret_docs = extend_schema_view(
    get=extend_schema(tags=["webhooks"], summary="Your webhook signing secret's state",
                      responses={200: SigningSecretStateSerializer, 401: NOT_AUTHENTICATED}),
    post=extend_schema(
        tags=["webhooks"], summary="Make or rotate your webhook signing secret", request=None,
        description="The answer is the only time the secret is shown. Rotating keeps the previous secret signing, "
                    "beside the new one, for `WEBHOOK_ROTATION_OVERLAP` (24 h).",
        responses={201: SigningSecretSerializer, 401: NOT_AUTHENTICATED},
    ),
)


class AutoSchema(SpectacularAutoSchema):
    """drf-spectacular's AutoSchema, plus the errors every endpoint may answer with.

    Each operation that needs credentials documents `401`; each one with a path parameter
    (an object that may be unknown, or someone else's) or a page number (a page past the
    end) documents `404`, unless the view's own `extend_schema` already names them.
    """

    def get_operation(self, path, path_regex, path_prefix, method, registry):
        operation = super().get_operation(path, path_regex, path_prefix, method, registry)
        if operation is None:
            return None
        responses = operation.setdefault("responses", {})
        security = operation.get("security")
        if security and {} not in security and "401" not in responses:
            responses["401"] = self.error_response(NOT_AUTHENTICATED.description)
        parameters = operation.get("parameters", [])
        page = getattr(getattr(self.view, "paginator", None), "page_query_param", None)
        has_object = any(parameter["in"] == "path" for parameter in parameters)
        has_pages = bool(page) and any(p["in"] == "query" and p["name"] == page for p in parameters)
        if (has_object or has_pages) and "404" not in responses:
            reasons = [NOT_FOUND.description] if has_object else []
            reasons += ["No such page."] if has_pages else []
            responses["404"] = self.error_response(" ".join(reasons))
        return operation

    def error_response(self, description: str) -> dict:
        """A response with DRF's error body, `{"detail": "…"}`."""
        component = self.resolve_serializer(DetailSerializer, "response")
        return {"content": {"application/json": {"schema": component.ref}}, "description": description}


class OrderCreateSchema(AutoSchema):
    """Describe the order endpoint of the one resource its URL pattern serves, with that resource's input.

    A resource's serializer may carry `openapi_request`: what `extend_schema(request=…)`
    takes, e.g. a mapping of media type to serializer (or its dotted path), to describe
    input variants that one serializer cannot, such as a JSON body or a file.
    """

    def get_request_serializer(self):
        serializer = self.view.get_serializer_class()
        request = getattr(serializer, "openapi_request", None)
        if isinstance(request, str):
            request = import_string(request)
        return request or serializer

    def get_summary(self) -> str:
        return f"Order {self.view.resource_name}"

    def get_description(self) -> str:
        # The serializer's own docstring, not one inherited from DRF's classes.
        described = self.view.get_serializer_class().__dict__.get("__doc__")
        parts = [super().get_description(), f"Input: {described}" if described else ""]
        return "\n\n".join(part for part in parts if part)


def one_path_per_resource(endpoints: list) -> list:
    """Leave the generic `<resource>/order/` pattern out: each registered resource has its own path."""

    def generic(callback) -> bool:
        # The order view's pattern that names no resource of its own.
        return hasattr(getattr(callback, "cls", None), "resource_name") and not callback.initkwargs.get("resource_name")

    return [(path, regex, method, callback) for path, regex, method, callback in endpoints if not generic(callback)]
