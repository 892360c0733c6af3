"""API errors as data, and the exception handler that keeps them JSON (never a 500 page)."""
from __future__ import annotations

from django.core.exceptions import RequestDataTooBig
from rest_framework import status
from rest_framework.exceptions import APIException
from rest_framework.views import exception_handler as drf_exception_handler


class PayloadTooLarge(APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_detail = "The request body is too large."
    default_code = "payload_too_large"


class OrderConflict(APIException):
    status_code = status.HTTP_409_CONFLICT
    default_detail = "The order is already finished."
    default_code = "order_finished"


def exception_handler(exc, context):
    """Handle what DRF handles, plus an oversized body as 413 instead of Django's bare 400."""
    if isinstance(exc, RequestDataTooBig):
        exc = PayloadTooLarge(f"The request body is larger than the limit: {exc}")
    return drf_exception_handler(exc, context)


class IdempotencyKeyReused(APIException):
    status_code = status.HTTP_422_UNPROCESSABLE_ENTITY
    default_detail = "This Idempotency-Key was already used with a different request."
    default_code = "idempotency_key_reused"


class StorageFull(APIException):
    status_code = status.HTTP_507_INSUFFICIENT_STORAGE
    default_detail = "The server has no room to store this order's input now; try again later."
    default_code = "insufficient_storage"
