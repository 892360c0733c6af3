"""Read the results of tagging orders: logs, batches and tag counts, each owner's own."""
from __future__ import annotations

from django.db.models import Count
from rest_framework import generics
from rest_framework.response import Response
from rest_framework.views import APIView

from .models import Batch, Log, Tag
from .serializers import BatchSerializer, LogSerializer
from .taggers.keywords import canonical_name


class OwnedMixin:
    """Limit the queryset to the requesting user's rows (others' rows are 404)."""

    def get_queryset(self):
        return super().get_queryset().filter(owner=self.request.user)


class LogList(OwnedMixin, generics.ListAPIView):
    """List your logs, filtered by `?tag=` (a tag value) and `?batch=` (a batch id)."""

    queryset = Log.objects.prefetch_related("tags")
    serializer_class = LogSerializer

    def get_queryset(self):
        queryset = super().get_queryset()
        params = self.request.query_params
        if params.get("tag"):
            # ?tag=postgres finds PostgreSQL: the same canonical names the taggers store.
            tag = canonical_name(params["tag"]) or params["tag"]
            queryset = queryset.filter(tags__value__iexact=tag).distinct()
        if params.get("batch"):
            queryset = queryset.filter(batch_id=params["batch"]).order_by("position")
        return queryset


class LogDetail(OwnedMixin, generics.RetrieveAPIView):
    queryset = Log.objects.prefetch_related("tags")
    serializer_class = LogSerializer


class BatchDetail(OwnedMixin, generics.RetrieveAPIView):
    queryset = Batch.objects.all()
    serializer_class = BatchSerializer


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
