"""The order endpoints: place an order, watch it, list your orders."""
from __future__ import annotations

from django.db import transaction
from rest_framework import generics, serializers, status
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from . import conf
from .exceptions import PayloadTooLarge
from .jobs import enqueue_order
from .models import Order, Status
from .registry import Resource, get_resource
from .serializers import OrderSerializer


class NoInputSerializer(serializers.Serializer):
    """The input of a resource registered without a serializer: nothing."""


class OrderCreateView(generics.GenericAPIView):
    """Place an order for the resource in the URL: 202 with the order's `Location` at once."""

    def get_job_kind(self) -> Resource:
        """Return the registered resource named in the URL; 404 if there is none."""
        resource = get_resource(self.kwargs["resource"])
        if resource is None:
            raise NotFound(f"There is no resource named {self.kwargs['resource']!r}.")
        return resource

    def get_serializer_class(self):
        return self.get_job_kind().serializer or NoInputSerializer

    def check_body_size(self, request: Request) -> None:
        """Raise 413 before parsing a body over `MAX_BODY_SIZE` bytes."""
        limit = conf.get("MAX_BODY_SIZE")
        try:
            length = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = 0
        if limit and length > limit:
            raise PayloadTooLarge(f"The request body is {length} bytes; the limit is {limit} bytes.")

    def post(self, request: Request, *args, **kwargs) -> Response:
        self.get_job_kind()
        self.check_body_size(request)
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        order = self.perform_create(serializer)
        data = OrderSerializer(order, context=self.get_serializer_context()).data
        return Response(data, status=status.HTTP_202_ACCEPTED, headers=self.get_success_headers(data))

    def get_order_input(self, serializer) -> dict:
        """Return the JSON-able input the job will read as `order.input`."""
        if hasattr(serializer, "order_input"):
            return serializer.order_input()
        return dict(serializer.validated_data)

    def perform_create(self, serializer) -> Order:
        """Commit the order row, then enqueue its job once the transaction has committed."""
        order = Order(owner=self.request.user, resource=self.get_job_kind().name)
        order.job_id = str(order.pk)
        with transaction.atomic():
            order.input = self.get_order_input(serializer)
            order.save(force_insert=True)
            transaction.on_commit(lambda: enqueue_order(order))
        return order

    def get_success_headers(self, data) -> dict:
        return {"Location": data["url"], "Retry-After": str(conf.get("RETRY_AFTER"))}


class OrderDetailView(generics.RetrieveAPIView):
    """Report an order: 202 while pending, 201 with the resource's `Location` once done, 200 if failed or cancelled."""

    serializer_class = OrderSerializer

    def get_queryset(self):
        return Order.objects.owned_by(self.request.user)

    def retrieve(self, request: Request, *args, **kwargs) -> Response:
        order = self.get_object()
        data = self.get_serializer(order).data
        return Response(data, status=self.get_status_code(order), headers=self.get_status_headers(order, data))

    def get_status_code(self, order: Order) -> int:
        if order.status == Status.COMPLETED:
            return status.HTTP_201_CREATED
        if order.is_finished:
            return status.HTTP_200_OK
        return status.HTTP_202_ACCEPTED

    def get_status_headers(self, order: Order, data) -> dict:
        if order.status == Status.COMPLETED:
            return {"Location": data["resource_url"]}
        if not order.is_finished:
            return {"Retry-After": str(conf.get("RETRY_AFTER"))}
        return {}


class OrderListView(generics.ListAPIView):
    """List the caller's orders, newest first, filtered by `?status=` and `?resource=`."""

    serializer_class = OrderSerializer

    def get_queryset(self):
        queryset = Order.objects.owned_by(self.request.user).order_by("-created_at")
        wanted = self.request.query_params.get("status")
        if wanted:
            if wanted not in Status.values:
                raise ValidationError({"status": [f"Must be one of: {', '.join(Status.values)}."]})
            queryset = queryset.filter(status=wanted)
        resource = self.request.query_params.get("resource")
        if resource:
            queryset = queryset.filter(resource=resource)
        return queryset


class HealthView(APIView):
    """Answer 200 when the database and Redis both respond, else 503 naming what is down."""

    authentication_classes: list = []
    permission_classes: list = []

    def get(self, request: Request, *args, **kwargs) -> Response:
        from django.db import connection
        from redis.exceptions import RedisError

        from .queues import get_queue

        checks = {}
        try:
            with connection.cursor() as cursor:
                cursor.execute("SELECT 1")
            checks["database"] = "ok"
        except Exception as exc:  # any driver error means "down" here
            checks["database"] = f"error: {type(exc).__name__}"
        try:
            get_queue().connection.ping()
            checks["redis"] = "ok"
        except RedisError as exc:
            checks["redis"] = f"error: {type(exc).__name__}"
        healthy = all(value == "ok" for value in checks.values())
        return Response(checks, status=status.HTTP_200_OK if healthy else status.HTTP_503_SERVICE_UNAVAILABLE)
