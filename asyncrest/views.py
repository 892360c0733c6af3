"""The order endpoints: place an order, watch it, list your orders."""
from __future__ import annotations

import hashlib
import json
import time
from datetime import timedelta

from django.core.serializers.json import DjangoJSONEncoder
from django.db import IntegrityError, transaction
from django.utils import timezone
from rest_framework import generics, serializers, status
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from . import conf, longpoll
from .events import watch
from .exceptions import IdempotencyKeyReused, OrderConflict, PayloadTooLarge
from .jobs import enqueue_order, remove_job
from .models import Order, Status
from .registry import Resource, get_resource
from .schema import OrderCreateSchema, health_docs, order_create_docs, order_detail_docs, order_list_docs
from .serializers import OrderSerializer
from .throttling import OrderRateThrottle
from .transitions import log_transition
from .webhooks import CallbackRefused, check_callback_url


class NoInputSerializer(serializers.Serializer):
    """The input of a resource registered without a serializer: nothing."""


@order_create_docs
class OrderCreateView(generics.GenericAPIView):
    """Place an order for the resource in the URL: 202 with the order's `Location` at once."""

    throttle_classes = [OrderRateThrottle]
    #: The resource of a URL pattern made for one resource (asyncrest/urls.py), for the schema.
    resource_name: str | None = None
    schema = OrderCreateSchema()

    def get_job_kind(self) -> Resource:
        """Return the registered resource named in the URL; 404 if there is none."""
        name = self.kwargs.get("resource") or self.resource_name
        resource = get_resource(name)
        if resource is None:
            raise NotFound(f"There is no resource named {name!r}.")
        return resource

    def get_serializer_class(self):
        return self.get_job_kind().serializer or NoInputSerializer

    def check_body_size(self, request: Request) -> None:
        """Raise 413 before parsing a body over `MAX_BODY_SIZE` bytes (`MAX_UPLOAD_SIZE` for files)."""
        content_type = request.content_type.split(";")[0].strip().lower()
        is_file = content_type.startswith("multipart/") or content_type in conf.get("UPLOAD_MEDIA_TYPES")
        limit = conf.get("MAX_UPLOAD_SIZE" if is_file else "MAX_BODY_SIZE")
        try:
            length = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = 0
        if limit and length > limit:
            raise PayloadTooLarge(f"The request body is {length} bytes; the limit is {limit} bytes.")

    def get_idempotency_key(self, request: Request) -> str | None:
        """Return the `Idempotency-Key` header, or None; 400 if it is not a short printable token."""
        key = request.headers.get("Idempotency-Key")
        if key is None:
            return None
        key = key.strip()
        if not key or len(key) > 255 or not key.isprintable():
            raise ValidationError({"Idempotency-Key": ["Must be 1 to 255 printable characters."]})
        return key

    def get_callback_url(self, request: Request) -> str:
        """Return the optional `callback_url`; 400 if it is not a public http(s) URL or webhooks are off."""
        url = request.data.get("callback_url") if hasattr(request.data, "get") else None
        if not url:
            return ""
        if not isinstance(url, str) or len(url) > 2000:
            raise ValidationError({"callback_url": ["Must be a URL of at most 2,000 characters."]})
        if not conf.get("WEBHOOK_SECRET"):
            raise ValidationError({"callback_url": ["This server sends no webhooks: it has no WEBHOOK_SECRET."]})
        try:
            check_callback_url(url)
        except CallbackRefused as exc:
            raise ValidationError({"callback_url": [str(exc)]}) from exc
        return url

    def post(self, request: Request, *args, **kwargs) -> Response:
        resource = self.get_job_kind()
        self.check_body_size(request)
        key = self.get_idempotency_key(request)
        callback_url = self.get_callback_url(request)
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        order_input = self.get_order_input(serializer)
        fingerprint = request_fingerprint(resource.name, order_input)
        replayed = False
        order = self.get_replayed_order(key, fingerprint) if key else None
        if order is None:
            try:
                order = self.perform_create(
                    serializer, order_input, key=key, fingerprint=fingerprint, callback_url=callback_url
                )
            except IntegrityError:
                # A concurrent request with the same key won the unique constraint: answer with its order.
                order = self.get_replayed_order(key, fingerprint) if key else None
                if order is None:
                    raise
                replayed = True
        else:
            replayed = True
        wait = longpoll.requested_wait(request.headers.get("Prefer"))
        waited = False
        if wait and not order.is_finished:
            order, waited = self.wait_until_finished(order, wait)
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

    def wait_until_finished(self, order: Order, wait: int) -> tuple[Order, bool]:
        """Hold the request until `order` is finished or `wait` seconds pass (`Prefer: wait=N`).

        Return the order as last read, and whether the request waited: with every long-poll
        slot of this process taken it does not, and the client polls as usual.
        """
        with longpoll.slots.take() as granted:
            if not granted:
                return order, False
            deadline = time.monotonic() + wait

            def read() -> Order:
                return Order.objects.for_display().get(pk=order.pk)

            # Subscribed before the first read, so a change between the two is not missed.
            with watch(order.pk) as changes:
                order = changes.reread_until(read, lambda current: current.is_finished, deadline, read())
        return order, True

    def get_replayed_order(self, key: str, fingerprint: str) -> Order | None:
        """Return the caller's live order for `key`; 422 if it was placed with another request."""
        order = Order.objects.filter(owner=self.request.user, idempotency_key=key).first()
        if order is None:
            return None
        if order.created_at < timezone.now() - timedelta(seconds=conf.get("IDEMPOTENCY_TTL")):
            # Expired: free the key for a new order.
            Order.objects.filter(pk=order.pk, idempotency_key=key).update(idempotency_key=None)
            return None
        if order.request_fingerprint != fingerprint:
            raise IdempotencyKeyReused()
        return order

    def get_order_input(self, serializer) -> dict:
        """Return the JSON-able input the job will read as `order.input`."""
        if hasattr(serializer, "order_input"):
            return serializer.order_input()
        return dict(serializer.validated_data)

    def perform_create(
        self, serializer, order_input: dict, *, key: str | None = None, fingerprint: str = "", callback_url: str = ""
    ) -> Order:
        """Commit the order row, then enqueue its job once the transaction has committed."""
        order = Order(
            owner=self.request.user, resource=self.get_job_kind().name, input=order_input,
            idempotency_key=key, request_fingerprint=fingerprint, callback_url=callback_url,
            origin=self.request.build_absolute_uri("/").rstrip("/") if callback_url else "",
        )
        order.job_id = str(order.pk)
        if transaction.get_autocommit():
            # One INSERT commits on its own: no BEGIN and COMMIT round trips to the database.
            order.save(force_insert=True)
        else:
            # Inside the caller's transaction: a savepoint, so a lost idempotency race can still be answered.
            with transaction.atomic():
                order.save(force_insert=True)
        # At once in autocommit; else once the caller's transaction commits, never before.
        transaction.on_commit(lambda: enqueue_order(order))
        log_transition(order, Status.QUEUED)
        return order

    def get_success_headers(self, data) -> dict:
        return {"Location": data["url"], "Retry-After": str(conf.get("RETRY_AFTER"))}


def order_status_code(order: Order) -> int:
    """The status monitor's code: 201 once completed, 200 once failed or cancelled, else 202."""
    if order.status == Status.COMPLETED:
        return status.HTTP_201_CREATED
    if order.is_finished:
        return status.HTTP_200_OK
    return status.HTTP_202_ACCEPTED


def order_status_headers(order: Order, data) -> dict:
    """The status monitor's headers: the resource's `Location` once completed, `Retry-After` while pending."""
    if order.status == Status.COMPLETED:
        return {"Location": data["resource_url"]}
    if not order.is_finished:
        return {"Retry-After": str(conf.get("RETRY_AFTER"))}
    return {}


def request_fingerprint(resource: str, order_input: dict) -> str:
    """Return a digest of what was ordered, to tell a retried request from a different one."""
    # Keys starting with "_" (such as where an upload was stored) differ between identical requests.
    public = {key: value for key, value in order_input.items() if not key.startswith("_")}
    text = json.dumps({"resource": resource, "input": public}, sort_keys=True, cls=DjangoJSONEncoder)
    return hashlib.sha256(text.encode()).hexdigest()


@order_detail_docs
class OrderDetailView(generics.RetrieveAPIView):
    """Report an order: 202 while pending, 201 with the resource's `Location` once done, 200 if failed or cancelled.

    `Prefer: wait=N` holds the request until the order changes or N seconds pass (a long
    poll); `If-None-Match` with the order's current `ETag` is answered 304.
    """

    serializer_class = OrderSerializer

    def get_queryset(self):
        return Order.objects.owned_by(self.request.user).for_display()

    def retrieve(self, request: Request, *args, **kwargs) -> Response:
        wait = longpoll.requested_wait(request.headers.get("Prefer"))
        if wait:
            with longpoll.slots.take() as granted:
                if granted:
                    # Subscribe before the first read, so a change between the two is not missed.
                    with watch(self.kwargs["pk"]) as changes:
                        order, data, waited = self.get_changed_order(changes, wait)
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

    def get_changed_order(self, changes, wait: int) -> tuple[Order, dict, bool]:
        """Return the order and its representation once it differs from what the client saw, or after `wait` s.

        What the client saw is the ETags of its `If-None-Match`, else the order as it was
        when the request arrived. A finished order answers at once; the last value says
        whether the order was pending, so that the request waited.
        """
        deadline = time.monotonic() + wait

        def read() -> tuple[Order, dict]:
            order = self.get_object()
            return order, self.get_serializer(order).data

        order, data = read()
        if order.is_finished:
            return order, data, False
        seen = [tag for tag in longpoll.parse_etags(self.request.headers.get("If-None-Match")) if tag != "*"]
        seen = seen or [longpoll.order_etag(data)]

        def changed(current: tuple[Order, dict]) -> bool:
            return current[0].is_finished or not longpoll.etag_matches(seen, longpoll.order_etag(current[1]))

        order, data = changes.reread_until(read, changed, deadline, (order, data))
        return order, data, True

    def delete(self, request: Request, *args, **kwargs) -> Response:
        """Cancel: a waiting order at once (200), a running one at its next progress step (202)."""
        order = self.get_object()
        if order.is_finished:
            raise OrderConflict(f"The order is already {order.status}; it cannot be cancelled.")
        if Order.objects.cancel_waiting(order.pk):
            log_transition(order, Status.CANCELLED)
            remove_job(order)
        elif not Order.objects.request_cancel(order.pk):
            order.refresh_from_db()
            if order.is_finished and order.status != Status.CANCELLED:
                raise OrderConflict(f"The order is already {order.status}; it cannot be cancelled.")
        order.refresh_from_db()
        data = self.get_serializer(order).data
        if order.is_finished:
            return Response(data, status=status.HTTP_200_OK)
        return Response(data, status=status.HTTP_202_ACCEPTED, headers={"Retry-After": str(conf.get("RETRY_AFTER"))})



@order_list_docs
class OrderListView(generics.ListAPIView):
    """List the caller's orders, newest first, filtered by `?status=` and `?resource=`."""

    serializer_class = OrderSerializer

    def get_queryset(self):
        queryset = Order.objects.owned_by(self.request.user).for_display().order_by("-created_at")
        wanted = self.request.query_params.get("status")
        if wanted:
            if wanted not in Status.values:
                raise ValidationError({"status": [f"Must be one of: {', '.join(Status.values)}."]})
            queryset = queryset.filter(status=wanted)
        resource = self.request.query_params.get("resource")
        if resource:
            queryset = queryset.filter(resource=resource)
        return queryset


@health_docs
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
