"""The order representation that every status monitor response carries."""
from __future__ import annotations

from rest_framework import serializers

from ..models import FINISHED, Order
from ..registry import get_resource

try:  # documents a method field's shape in the OpenAPI schema (asyncrest[openapi])
    from drf_spectacular.utils import extend_schema_field
except ImportError:
    def extend_schema_field(field):
        return lambda method: method

# Formats a datetime as every DRF DateTimeField does (DATETIME_FORMAT, the current time zone).
_datetime = serializers.DateTimeField()


class ErrorSerializer(serializers.Serializer):
    code = serializers.CharField()
    message = serializers.CharField()


class RetrySerializer(serializers.Serializer):
    """When an order that waits for another attempt gets it, and how many it has left."""

    due_at = serializers.DateTimeField()
    attempts_left = serializers.IntegerField()
    max_attempts = serializers.IntegerField()


class CountsSerializer(serializers.Serializer):
    """An order's items: all of them, those done without failure, and those that failed."""

    total = serializers.IntegerField()
    succeeded = serializers.IntegerField()
    failed = serializers.IntegerField()


class OrderSerializer(serializers.ModelSerializer):
    url = serializers.SerializerMethodField()
    resource_url = serializers.SerializerMethodField()
    error = ErrorSerializer(read_only=True, allow_null=True)
    retry = serializers.SerializerMethodField()
    counts = serializers.SerializerMethodField()
    retry_of = serializers.SerializerMethodField()
    retried_by = serializers.SerializerMethodField()

    class Meta:
        model = Order
        fields = [
            "id", "url", "resource", "status", "progress", "processed", "total", "message",
            "resource_url", "error", "created_at", "started_at", "finished_at", "attempts", "retry",
            "counts", "retry_of", "retried_by",
        ]
        read_only_fields = fields

    def to_representation(self, order: Order) -> dict:
        """Build the fields of `Meta.fields` straight from the order.

        Every poll and every POST answers with this; DRF's generic path (a field object per
        field, rebuilt from the model for each serializer) costs several times as much. The
        test suite checks that both give the same result for orders in every state.
        """
        timestamp = _datetime.to_representation
        return {
            "id": str(order.id),
            "url": self.get_url(order),
            "resource": order.resource,
            "status": order.status,
            "progress": float(order.progress),
            "processed": int(order.processed),
            "total": None if order.total is None else int(order.total),
            "message": order.message,
            "resource_url": self.get_resource_url(order),
            "error": order.error,
            "created_at": timestamp(order.created_at) if order.created_at else None,
            "started_at": timestamp(order.started_at) if order.started_at else None,
            "finished_at": timestamp(order.finished_at) if order.finished_at else None,
            "attempts": int(order.attempts),
            "retry": self.get_retry(order),
            "counts": self.get_counts(order),
            "retry_of": self.get_retry_of(order),
            "retried_by": self.get_retried_by(order),
        }

    def _absolute(self, path: str | None) -> str | None:
        request = self.context.get("request")
        if path and request is not None:
            return request.build_absolute_uri(path)
        if path and self.context.get("origin") and path.startswith("/"):
            return self.context["origin"] + path  # outside a request, e.g. in a webhook
        return path

    def get_url(self, order: Order) -> str:
        return self._absolute(order.get_absolute_url())

    @extend_schema_field(RetrySerializer(allow_null=True))
    def get_retry(self, order: Order) -> dict | None:
        """Set while the order waits for another attempt (after a failure its resource retries, or a lost
        worker): when it is due and how many attempts are left; else null."""
        if order.status != "running" or order.lease or order.available_at is None or not order.attempts:
            return None
        resource = get_resource(order.resource)
        max_attempts = resource.get_max_attempts() if resource else int(order.attempts)
        return {
            "due_at": _datetime.to_representation(order.available_at),
            "attempts_left": max(0, max_attempts - int(order.attempts)),
            "max_attempts": max_attempts,
        }

    @extend_schema_field(CountsSerializer(allow_null=True))
    def get_counts(self, order: Order) -> dict | None:
        """The order's items once it knows how many it has: `succeeded` counts those processed
        without failure so far, `failed` those that failed (where its resource tolerates failures)."""
        if order.total is None:
            return None
        failed = int(order.failed)
        return {"total": int(order.total), "succeeded": max(0, int(order.processed) - failed), "failed": failed}

    def get_retry_of(self, order: Order) -> str | None:
        """The URL of the finished order whose failed parts or items this one redoes."""
        return self._order_url(order.retry_of_id)

    def get_retried_by(self, order: Order) -> str | None:
        """The URL of the latest order placed to redo this one's failures (`POST .../retry/`).

        Read from the list's annotation, else (one query) only for an order that could have been
        retried: failed, cancelled, or completed with failures. Polls of pending orders and of
        orders completed whole never pay for it.
        """
        if hasattr(order, "retried_by_id"):
            return self._order_url(order.retried_by_id)
        if order.status not in FINISHED or (order.status == "completed" and not order.failed):
            return None
        latest = Order.objects.filter(retry_of=order.pk).order_by("-created_at").values_list("pk", flat=True).first()
        return self._order_url(latest)

    def _order_url(self, pk) -> str | None:
        if pk is None:
            return None
        from django.urls import reverse

        return self._absolute(reverse("asyncrest:order-detail", kwargs={"pk": pk}))

    def get_resource_url(self, order: Order) -> str | None:
        return self._absolute(order.resource_url) if order.status == "completed" else None
