"""The order endpoints: place an order, watch it, cancel it, list your orders; and the health check.

The views carry their own HTTP rules (authentication required, parsers per resource,
pagination, the exception handler), so that they behave the same in any host project,
whatever its `REST_FRAMEWORK` defaults.
"""
from __future__ import annotations

import errno

from django.db import IntegrityError
from rest_framework import generics, serializers, status
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from .. import conf, lifecycle
from ..broker.dispatch import remove_job
from ..models import Order, Status
from ..registry import NAME, Resource, get_resource
from ..webhooks.signing import has_secret
from ..webhooks.targets import CallbackRefused, check_callback_url
from . import docs, longpoll
from .bodies import check_body_size, read_chunked_body
from .exceptions import OrderConflict, StorageFull, exception_handler
from .idempotency import get_idempotency_key, replayed_order, request_fingerprint
from .pagination import OrderPagination
from .serializers import OrderSerializer
from .status import order_status_code, order_status_headers
from .tombstones import PurgedOrdersAnswerGone
from .throttling import OrderRateThrottle


class EngineViewMixin:
    """The engine's own rules: callers must be authenticated (401 if not), errors stay JSON."""

    permission_classes = [IsAuthenticated]

    def get_exception_handler(self):
        return exception_handler

    def get_authenticate_header(self, request: Request) -> str | None:
        """The `WWW-Authenticate` of the first authentication class that has one, so that no
        credentials is a 401 even where the host lists session authentication first."""
        for authenticator in request.authenticators:
            header = authenticator.authenticate_header(request)
            if header:
                return header
        return None


class NoInputSerializer(serializers.Serializer):
    """The input of a resource registered without a serializer: nothing."""


@docs.order_create_docs
class OrderCreateView(EngineViewMixin, generics.GenericAPIView):
    """Place an order for the resource in the URL: 202 with the order's `Location` at once."""

    throttle_classes = [OrderRateThrottle]
    #: The resource of a URL pattern made for one resource (asyncrest/urls.py), for the schema.
    resource_name: str | None = None
    schema = docs.schema(docs.OrderCreateSchema)

    def get_job_kind(self) -> Resource:
        """Return the registered resource named in the URL; 404 if there is none."""
        name = self.kwargs.get("resource") or self.resource_name
        resource = get_resource(name)
        if resource is None:
            raise NotFound(f"There is no resource named {name!r}.")
        return resource

    def get_parsers(self):
        """The parsers of the resource in the URL (JSON unless it registered others): 415 for any other body."""
        resource = get_resource(self.kwargs.get("resource") or self.resource_name)
        if resource is None:
            return super().get_parsers()
        return [parser() for parser in resource.get_parsers()]

    def get_serializer_class(self):
        return self.get_job_kind().serializer or NoInputSerializer

    def initial(self, request: Request, *args, **kwargs) -> None:
        super().initial(request, *args, **kwargs)
        # Once the caller is authenticated, allowed and not throttled: a chunked body is read now.
        read_chunked_body(request._request)

    def get_callback_url(self, request: Request) -> str:
        """Return the optional `callback_url`; 400 if it is not a public http(s) URL or the caller has no signing secret."""
        url = request.data.get("callback_url") if hasattr(request.data, "get") else None
        if not url:
            return ""
        if not isinstance(url, str) or len(url) > 2000:
            raise ValidationError({"callback_url": ["Must be a URL of at most 2,000 characters."]})
        if not has_secret(request.user):
            raise ValidationError({"callback_url": [
                "Make your webhook signing secret first (POST /async/webhooks/secret/): it signs your webhooks alone."
            ]})
        try:
            check_callback_url(url)
        except CallbackRefused as exc:
            raise ValidationError({"callback_url": [str(exc)]}) from exc
        return url

    def post(self, request: Request, *args, **kwargs) -> Response:
        resource = self.get_job_kind()
        check_body_size(request._request)
        key = get_idempotency_key(request.headers)
        callback_url = self.get_callback_url(request)
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        order_input = self.get_order_input(serializer)
        fingerprint = request_fingerprint(resource.name, order_input)
        order = replayed_order(request.user, key, fingerprint) if key else None
        replayed = order is not None
        if order is None:
            try:
                order = self.perform_create(
                    serializer, order_input, key=key, fingerprint=fingerprint, callback_url=callback_url
                )
            except IntegrityError:
                # A concurrent request with the same key won the unique constraint: answer with its order.
                order = replayed_order(request.user, key, fingerprint) if key else None
                if order is None:
                    raise
                replayed = True
        wait = longpoll.requested_wait(request.headers.get("Prefer"))
        waited = False
        if wait and not order.is_finished:
            order, waited = longpoll.wait_until_finished(order, wait)
        data = OrderSerializer(order, context=self.get_serializer_context()).data
        if wait and order.is_finished:
            # `Prefer: wait` and the order finished in time: answer as its status monitor would.
            code = order_status_code(order)
            headers = {**order_status_headers(order, data), "Content-Location": data["url"]}
        else:
            code = status.HTTP_202_ACCEPTED
            headers = self.get_success_headers(data)
        if waited:
            headers["Preference-Applied"] = f"wait={wait}"
        if replayed:
            headers["Idempotent-Replayed"] = "true"
        return Response(data, status=code, headers=headers)

    def get_order_input(self, serializer) -> dict:
        """Return the JSON-able input the job will read as `order.input`."""
        if hasattr(serializer, "order_input"):
            return serializer.order_input()
        return dict(serializer.validated_data)

    def perform_create(
        self, serializer, order_input: dict, *, key: str | None = None, fingerprint: str = "", callback_url: str = ""
    ) -> Order:
        """Place the order: its row committed first, its job enqueued once that has committed.

        A serializer with `prepare_order(order)` is called with the accepted, unsaved order
        (its id is set) to store what the job needs outside the database, such as an
        upload, and `discard_order(order)` if the order could not be placed after all. A
        full disk answers 507, with nothing left behind.
        """
        resource = self.get_job_kind()
        order = Order(
            owner=self.request.user, resource=resource.name, input=order_input,
            coalesced=resource.coalesces(order_input),
            idempotency_key=key, request_fingerprint=fingerprint, callback_url=callback_url,
            origin=self.request.build_absolute_uri("/").rstrip("/") if callback_url else "",
        )
        try:
            if hasattr(serializer, "prepare_order"):
                serializer.prepare_order(order)
            return lifecycle.place(order)
        except Exception as exc:
            if hasattr(serializer, "discard_order"):
                serializer.discard_order(order)
            if isinstance(exc, OSError) and exc.errno in (errno.ENOSPC, errno.EDQUOT):
                raise StorageFull() from exc
            raise

    def get_success_headers(self, data) -> dict:
        return {"Location": data["url"], "Retry-After": str(conf.get("RETRY_AFTER"))}


@docs.order_detail_docs
class OrderDetailView(PurgedOrdersAnswerGone, EngineViewMixin, generics.RetrieveAPIView):
    """Report an order: 202 while pending, 201 with the resource's `Location` once done, 200 if failed or cancelled.

    `Prefer: wait=N` holds the request until the order changes or N seconds pass (a long
    poll); `If-None-Match` with the order's current `ETag` is answered 304.
    """

    serializer_class = OrderSerializer
    schema = docs.schema()

    def get_queryset(self):
        return Order.objects.owned_by(self.request.user).for_display()

    def retrieve(self, request: Request, *args, **kwargs) -> Response:
        wait = longpoll.requested_wait(request.headers.get("Prefer"))
        if wait:
            def read():
                order = self.get_object()
                return order, self.get_serializer(order).data

            seen = longpoll.parse_etags(request.headers.get("If-None-Match"))
            held = longpoll.wait_for_news(self.kwargs["pk"], read, seen, wait)
            if held is not None:
                order, data, waited = held
                return self.respond(order, data, {"Preference-Applied": f"wait={wait}"} if waited else {})
        # No wait asked, or every slot is held: answer at once; the client polls after Retry-After.
        order = self.get_object()
        return self.respond(order, self.get_serializer(order).data)

    def respond(self, order: Order, data, extra_headers: dict | None = None) -> Response:
        """Answer with the order's status code, headers and ETag, or 304 if the client has this state."""
        etag = longpoll.order_etag(data)
        headers = {**order_status_headers(order, data), **(extra_headers or {}), "ETag": etag}
        if longpoll.etag_matches(longpoll.parse_etags(self.request.headers.get("If-None-Match")), etag):
            return Response(status=status.HTTP_304_NOT_MODIFIED, headers=headers)
        return Response(data, status=order_status_code(order), headers=headers)

    def delete(self, request: Request, *args, **kwargs) -> Response:
        """Cancel: a waiting order at once (200), a running one at its next progress step (202)."""
        order = self.get_object()
        if order.is_finished:
            raise OrderConflict(f"The order is already {order.status}; it cannot be cancelled.")
        if lifecycle.cancel_waiting(order.pk):
            lifecycle.log_transition(order, Status.CANCELLED)
            remove_job(order)
        elif not lifecycle.request_cancel(order.pk):
            order.refresh_from_db()
            if order.is_finished and order.status != Status.CANCELLED:
                raise OrderConflict(f"The order is already {order.status}; it cannot be cancelled.")
        order.refresh_from_db()
        data = self.get_serializer(order).data
        if order.is_finished:
            return Response(data, status=status.HTTP_200_OK)
        return Response(data, status=status.HTTP_202_ACCEPTED, headers={"Retry-After": str(conf.get("RETRY_AFTER"))})


@docs.order_list_docs
class OrderListView(EngineViewMixin, generics.ListAPIView):
    """List the caller's orders, newest first, filtered by `?status=` and `?resource=`."""

    serializer_class = OrderSerializer
    pagination_class = OrderPagination
    schema = docs.schema()

    def get_queryset(self):
        queryset = Order.objects.owned_by(self.request.user).for_display().with_retried_by().order_by("-created_at")
        wanted = self.request.query_params.get("status")
        if wanted:
            if wanted not in Status.values:
                raise ValidationError({"status": [f"Must be one of: {', '.join(Status.values)}."]})
            queryset = queryset.filter(status=wanted)
        resource = self.request.query_params.get("resource")
        if resource:
            if not NAME.fullmatch(resource):
                # Also keeps a NUL out of the query, which PostgreSQL refuses with an error.
                raise ValidationError({"resource": ["Must be a resource name: letters, digits, '-' and '_'."]})
            queryset = queryset.filter(resource=resource)
        return queryset


@docs.health_docs
class HealthView(APIView):
    """Answer 200 when the database and Redis both respond, else 503 naming what is down."""

    authentication_classes: list = []
    permission_classes: list = []
    schema = docs.schema()

    def get_exception_handler(self):
        return exception_handler

    def get(self, request: Request, *args, **kwargs) -> Response:
        from django.db import connection
        from redis.exceptions import RedisError

        from ..broker.queues import get_queue

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
