"""`/async/webhooks/secret/`: the caller's own webhook signing secret, made or rotated, shown once."""
from __future__ import annotations

from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from ..models import SigningSecret
from ..webhooks.signing import rotate
from . import docs
from .views import EngineViewMixin

_datetime = serializers.DateTimeField()


def timestamp(value) -> str | None:
    return _datetime.to_representation(value) if value else None


@docs.signing_secret_docs
class SigningSecretView(EngineViewMixin, APIView):
    """GET: whether you have a signing secret, and its dates. POST: make one, or rotate it; the answer is the only time it is shown."""

    schema = docs.schema()

    def get(self, request: Request, *args, **kwargs) -> Response:
        held = SigningSecret.objects.filter(owner=request.user).first()
        if held is None:
            return Response({"exists": False, "created_at": None, "rotated_at": None, "previous_valid_until": None})
        return Response({
            "exists": True, "created_at": timestamp(held.created_at), "rotated_at": timestamp(held.rotated_at),
            "previous_valid_until": timestamp(held.previous_until),
        })

    def post(self, request: Request, *args, **kwargs) -> Response:
        secret, previous_until = rotate(request.user)
        return Response(
            {"secret": secret, "previous_valid_until": timestamp(previous_until)},
            status=status.HTTP_201_CREATED, headers={"Cache-Control": "no-store"},
        )
