"""The status monitor's answer: its HTTP status code and headers for an order in each state."""
from __future__ import annotations

from rest_framework import status

from .. import conf
from ..models import Order, Status


def order_status_code(order: Order) -> int:
    """201 once completed, 200 once failed or cancelled, else 202."""
    if order.status == Status.COMPLETED:
        return status.HTTP_201_CREATED
    if order.is_finished:
        return status.HTTP_200_OK
    return status.HTTP_202_ACCEPTED


def order_status_headers(order: Order, data) -> dict:
    """The resource's `Location` once completed, `Retry-After` while pending."""
    if order.status == Status.COMPLETED:
        return {"Location": data["resource_url"]}
    if not order.is_finished:
        return {"Retry-After": str(conf.get("RETRY_AFTER"))}
    return {}
