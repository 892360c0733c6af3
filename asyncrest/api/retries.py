"""`POST /async/orders/<uuid>/retry/`: a new order that redoes what a finished one did not do."""
from __future__ import annotations

from django.db import IntegrityError
from rest_framework import generics, status
from rest_framework.request import Request
from rest_framework.response import Response

from .. import conf, lifecycle
from ..models import Order
from . import docs
from .exceptions import OrderConflict
from .idempotency import get_idempotency_key, replayed_order, request_fingerprint
from .serializers import OrderSerializer
from .throttling import OrderRateThrottle
from .tombstones import PurgedOrdersAnswerGone
from .views import EngineViewMixin


@docs.order_retry_docs
class OrderRetryView(PurgedOrdersAnswerGone, EngineViewMixin, generics.GenericAPIView):
    """Redo what a finished order did not: 202 with a new order, linked to it, that redoes only its
    failed parts or items (409 if it is pending, or completed with nothing failed)."""

    serializer_class = OrderSerializer
    throttle_classes = [OrderRateThrottle]
    schema = docs.schema()

    def get_queryset(self):
        return Order.objects.owned_by(self.request.user)

    def post(self, request: Request, *args, **kwargs) -> Response:
        original = self.get_object()
        reason = lifecycle.why_not_retryable(original)
        if reason:
            raise OrderConflict(reason)
        key = get_idempotency_key(request.headers)
        fingerprint = request_fingerprint(original.resource, {"retry_of": str(original.pk)})
        order = replayed_order(request.user, key, fingerprint) if key else None
        replayed = order is not None
        if order is None:
            try:
                order = lifecycle.place_retry(original, key=key, fingerprint=fingerprint)
            except IntegrityError:
                order = replayed_order(request.user, key, fingerprint) if key else None
                if order is None:
                    raise
                replayed = True
        data = self.get_serializer(order).data
        headers = {"Location": data["url"], "Retry-After": str(conf.get("RETRY_AFTER"))}
        if replayed:
            headers["Idempotent-Replayed"] = "true"
        return Response(data, status=status.HTTP_202_ACCEPTED, headers=headers)
