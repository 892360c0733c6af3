"""Access and limits: every endpoint is its owner's, placing orders is throttled."""

import pytest
from rest_framework.test import APIClient

from asyncrest.models import Order
from asyncrest.testing import place_order, run_order_now
from tagging.models import Batch, Log

pytestmark = pytest.mark.django_db


@pytest.fixture
def alices(user):
    """An order of alice's, finished, with its log, batch and export."""
    order = run_order_now(place_order(user, "tagging", {"entry": "Django on Kubernetes"}))
    log = Log.objects.get(order=order)
    assert order.resource_url == log.get_absolute_url()

    batch = Batch.objects.create(owner=user)
    log.batch = batch
    log.save()
    return {"order": order, "log": log, "batch": batch}


def endpoints(alices):
    order, log, batch = alices["order"], alices["log"], alices["batch"]
    return [
        ("get", f"/async/orders/{order.pk}/"),
        ("delete", f"/async/orders/{order.pk}/"),
        ("get", log.get_absolute_url()),
        ("get", batch.get_absolute_url()),
        ("get", f"{batch.get_absolute_url()}export.csv"),
    ]


def test_another_user_gets_404_on_every_object(api, other_api, alices):
    for method, url in endpoints(alices):
        assert getattr(other_api, method)(url).status_code == 404, (method, url)
    assert getattr(api, "get")(f"/async/orders/{alices['order'].pk}/").status_code == 201
    assert api.get(alices["log"].get_absolute_url()).status_code == 200


def test_another_users_lists_are_empty(other_api, alices):
    assert other_api.get("/async/orders/").json()["count"] == 0
    assert other_api.get("/tagging/logs/").json()["count"] == 0
    assert other_api.get(f"/tagging/logs/?batch={alices['batch'].pk}").json()["count"] == 0
    assert other_api.get("/tagging/logs/?tag=Django").json()["count"] == 0
    assert other_api.get("/tagging/tags/").json() == []


def test_anonymous_clients_get_401_everywhere(alices):
    anonymous = APIClient()
    for method, url in [*endpoints(alices), ("get", "/async/orders/"), ("get", "/tagging/logs/"),
                        ("get", "/tagging/tags/"), ("post", "/async/tagging/order/")]:
        assert getattr(anonymous, method)(url).status_code == 401, (method, url)


def test_placing_orders_is_throttled_per_user_with_retry_after(api, other_api, settings, redis_client):
    settings.ASYNCREST = {**settings.ASYNCREST, "ORDER_RATE": "3/minute"}
    for key in redis_client.scan_iter("asyncrest:throttle:*"):
        redis_client.delete(key)  # user ids repeat between tests
    codes = [api.post("/async/tests-sleep/order/", {"items": 1}, format="json").status_code for _ in range(4)]
    if codes != [202, 202, 202, 429]:
        # Only a minute boundary inside this loop can split the count over two windows.
        assert codes.count(429) <= 1, codes
    denied = api.post("/async/tests-sleep/order/", {"items": 1}, format="json")
    assert denied.status_code == 429
    assert 1 <= int(denied["Retry-After"]) <= 60
    assert "throttled" in denied.json()["detail"].lower()
    assert other_api.post("/async/tests-sleep/order/", {"items": 1}, format="json").status_code == 202
    assert Order.objects.filter(owner__username="alice").count() <= 4


def test_an_unreachable_redis_does_not_stop_orders(api, settings):
    settings.ASYNCREST = {**settings.ASYNCREST, "ORDER_RATE": "1/minute"}
    settings.RQ_QUEUES = {settings.ASYNCREST["QUEUE"]: {"URL": "redis://127.0.0.1:1/0"}}
    codes = [api.post("/async/tests-sleep/order/", {"items": 1}, format="json").status_code for _ in range(2)]
    assert codes == [202, 202]
