"""The order representation: the direct build gives what DRF's generic field path gives."""
import pytest
from django.test import override_settings
from rest_framework import serializers
from rest_framework.test import APIRequestFactory

from asyncrest import lifecycle
from asyncrest.api.serializers import OrderSerializer
from asyncrest.models import Order

pytestmark = pytest.mark.django_db


def orders_in_every_state(user) -> list[Order]:
    queued = Order.objects.create(owner=user, resource="tests-sleep", input={"items": 1})

    running = Order.objects.create(owner=user, resource="tests-sleep")
    lifecycle.claim(running.pk, "lease-1")
    lifecycle.report_progress(running.pk, 3, 7, "working", lease="lease-1")

    completed = Order.objects.create(owner=user, resource="tests-sleep")
    lifecycle.claim(completed.pk, "lease-2")
    lifecycle.complete(completed.pk, "/tagging/logs/1/")

    failed = Order.objects.create(owner=user, resource="tests-sleep")
    lifecycle.claim(failed.pk, "lease-3")
    lifecycle.fail(failed.pk, "bad_input", "The entry is empty — nothing to tag.")

    cancelled = Order.objects.create(owner=user, resource="tests-sleep")
    Order.objects.filter(pk=cancelled.pk).update(status="cancelled")
    return list(Order.objects.filter(pk__in=[o.pk for o in (queued, running, completed, failed, cancelled)]))


def generic(serializer: OrderSerializer, order: Order) -> dict:
    """What DRF's ModelSerializer makes of the order through its field objects."""
    return dict(serializers.ModelSerializer.to_representation(serializer, order))


@pytest.mark.parametrize("context", ["request", "origin", "none"])
def test_direct_representation_equals_drfs_generic_one(user, context):
    orders = orders_in_every_state(user)
    assert {order.status for order in orders} == {"queued", "running", "completed", "failed", "cancelled"}
    contexts = {
        "request": {"request": APIRequestFactory().get("/")},
        "origin": {"origin": "https://api.example.com"},
        "none": {},
    }
    for order in orders:
        serializer = OrderSerializer(order, context=contexts[context])
        direct = serializer.data
        assert list(direct) == OrderSerializer.Meta.fields
        assert direct == generic(serializer, order), order.status


@override_settings(TIME_ZONE="Europe/Berlin", REST_FRAMEWORK={"DATETIME_FORMAT": "%Y-%m-%d %H:%M"})
def test_direct_representation_follows_time_zone_and_datetime_format(user):
    from rest_framework.settings import api_settings

    api_settings.reload()
    try:
        order = orders_in_every_state(user)[0]
        serializer = OrderSerializer(order)
        assert serializer.data == generic(serializer, order)
        assert len(serializer.data["created_at"]) == len("2026-11-30 12:00")
    finally:
        api_settings.reload()
