"""`410 Gone` for an order that was purged after its retention, to its owner (anyone else: 404)."""
from __future__ import annotations

from django.http import Http404
from rest_framework import status
from rest_framework.exceptions import APIException

from ..models import PurgedOrder
from .serializers import _datetime


class OrderGone(APIException):
    status_code = status.HTTP_410_GONE
    default_detail = "The order expired and was deleted."
    default_code = "order_expired"


class PurgedOrdersAnswerGone:
    """For views of one order: an order of the caller's that was purged is `410 Gone`, with what is
    left of it, instead of `404`; so a client tells "it expired" from "it never existed"."""

    def get_object(self):
        try:
            return super().get_object()
        except Http404:
            tombstone = PurgedOrder.objects.filter(pk=self.kwargs["pk"], owner=self.request.user).first()
            if tombstone is None:
                raise
            raise OrderGone(describe(tombstone)) from None


def describe(tombstone: PurgedOrder) -> dict:
    """The body of a purged order's 410: its id, resource, last status and when it finished and went."""
    body = {
        "detail": "The order finished and was deleted once its retention had passed; its result is no longer "
                  "kept here.",
        "id": str(tombstone.pk),
        "resource": tombstone.resource,
        "status": tombstone.status,
        "purged_at": _datetime.to_representation(tombstone.purged_at),
    }
    if tombstone.finished_at:
        body["finished_at"] = _datetime.to_representation(tombstone.finished_at)
    return body
