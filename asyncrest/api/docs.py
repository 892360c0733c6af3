"""The order endpoints' OpenAPI documentation, when drf-spectacular is installed (`asyncrest[openapi]`).

Without it, the decorators leave the views as they are and the views keep DRF's
default schema: the engine imports nothing it does not need.
"""
from __future__ import annotations

import importlib.util

available = importlib.util.find_spec("drf_spectacular") is not None

if available:
    from .schema import (  # noqa: F401
        AutoSchema, OrderCreateSchema, health_docs, order_create_docs, order_detail_docs, order_list_docs,
        order_retry_docs, signing_secret_docs,
    )
else:
    def _unchanged(view):
        return view

    order_create_docs = order_detail_docs = order_list_docs = health_docs = signing_secret_docs = _unchanged
    order_retry_docs = _unchanged
    AutoSchema = OrderCreateSchema = None


def schema(kind=None):
    """Return an instance of `kind` (one of the schema classes above), or DRF's default without drf-spectacular."""
    from rest_framework.schemas.inspectors import DefaultSchema

    kind = kind or AutoSchema
    return kind() if kind is not None else DefaultSchema()
