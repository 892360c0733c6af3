"""Run an order's job in the test process, without Redis or a worker, to unit-test a job.

In the spirit of Django's `ImmediateBackend`::

    from asyncrest.testing import place_order, run_order_now

    def test_report(django_user_model):
        user = django_user_model.objects.create_user("ann")
        order = place_order(user, "reports", {"rows": 3})
        order = run_order_now(order)
        assert order.status == "completed"
        assert order.resource_url == f"/reports/{order.pk}/"

The job runs as a worker would run it, with the same `RunningOrder`, lease, progress
writes, `fail_on_error` and fan-out: every part, then the finishing step, run in turn
before `run_order_now` returns. A job that raises leaves the order `failed` and
`run_order_now` re-raises, as RQ would record it. A failure the resource retries
(`Retry(on=...)`, `RetryLater`) is tried again at once, without its backoff, while
attempts are left (`retries=False`: the order is returned waiting for its next attempt).
"""
from __future__ import annotations

from typing import Any

from django.db.models import Q
from django.utils import timezone
from rest_framework.exceptions import ValidationError

from . import lifecycle
from .models import Order, Part, Status
from .registry import get_resource
from .worker.fanout import execute_part
from .worker.runner import execute


def place_order(owner, resource: str, data: dict[str, Any] | None = None) -> Order:
    """Validate `data` with the resource's serializer, as the API does, and place the order; nothing is enqueued.

    Raises `rest_framework.exceptions.ValidationError` for input the API would answer 400.
    """
    registered = get_resource(resource)
    if registered is None:
        raise LookupError(f"There is no asyncrest resource named {resource!r}.")
    order_input: dict = {}
    if registered.serializer is not None:
        serializer = registered.serializer(data=data or {})
        if not serializer.is_valid():
            raise ValidationError(serializer.errors)
        order_input = serializer.order_input() if hasattr(serializer, "order_input") else dict(
            serializer.validated_data
        )
    order = Order(owner=owner, resource=resource, input=order_input)
    return lifecycle.place(order, enqueue=False)


def run_order_now(order: Order | Any, *, retries: bool = True) -> Order:
    """Run the job of `order` (an Order or its id) and all of its parts here, retries included;
    return the order as it ends."""
    order_id = getattr(order, "pk", order)
    while True:
        execute(order_id)
        # Parts run one after the other; each may be the last and finish the order.
        while (part_id := next_part(order_id, retries=retries)) is not None:
            execute_part(part_id)
        waiting = Order.objects.filter(pk=order_id, status=Status.RUNNING, lease="", available_at__isnull=False)
        if not (retries and waiting.update(available_at=timezone.now())):
            return Order.objects.get(pk=order_id)


def next_part(order_id, *, retries: bool = True) -> int | None:
    """The next part of a fanned-out order still to run, while the order runs on its parts (a part
    handed back for a retry is made due at once, with `retries`)."""
    if not Order.objects.filter(pk=order_id, status=Status.RUNNING, lease=lifecycle.FANOUT_LEASE).exists():
        return None
    parts = Part.objects.filter(order_id=order_id).order_by("index")
    waiting = Q(status=Status.QUEUED) | Q(status=Status.RUNNING, lease="") if retries else Q(status=Status.QUEUED)
    part_id = parts.filter(waiting).values_list("pk", flat=True).first()
    if part_id is not None:
        Part.objects.filter(pk=part_id, status=Status.RUNNING, lease="").update(available_at=timezone.now())
    return part_id
