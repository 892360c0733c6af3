"""The order representation that every status monitor response carries."""
from __future__ import annotations

from rest_framework import serializers

from .models import Order


class ErrorSerializer(serializers.Serializer):
    code = serializers.CharField()
    message = serializers.CharField()


class OrderSerializer(serializers.ModelSerializer):
    url = serializers.SerializerMethodField()
    resource_url = serializers.SerializerMethodField()
    error = ErrorSerializer(read_only=True, allow_null=True)

    class Meta:
        model = Order
        fields = [
            "id", "url", "resource", "status", "progress", "processed", "total", "message",
            "resource_url", "error", "created_at", "started_at", "finished_at", "attempts",
        ]
        read_only_fields = fields

    def _absolute(self, path: str | None) -> str | None:
        request = self.context.get("request")
        if path and request is not None:
            return request.build_absolute_uri(path)
        if path and self.context.get("origin") and path.startswith("/"):
            return self.context["origin"] + path  # outside a request, e.g. in a webhook
        return path

    def get_url(self, order: Order) -> str:
        return self._absolute(order.get_absolute_url())

    def get_resource_url(self, order: Order) -> str | None:
        return self._absolute(order.resource_url) if order.status == "completed" else None
