"""Idempotency-Key on POST: one order per key and user, whatever the retries or races."""
import threading
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from asyncrest import lifecycle
from asyncrest.models import Order

BODY = {"items": 2, "delay": 0.01}


def place(api, body=BODY, key="key-1"):
    return api.post("/async/tests-sleep/order/", body, format="json", HTTP_IDEMPOTENCY_KEY=key)


@pytest.mark.django_db
def test_a_replay_of_a_finished_order_is_still_202_with_the_orders_location(api):
    # Only `Prefer: wait` turns POST's answer into the status monitor's (201 with the result).
    first = place(api)
    order_id = first.json()["id"]
    lifecycle.claim(order_id, "lease")
    lifecycle.complete(order_id, "/tests/results/1/", lease="lease")
    again = place(api)
    assert again.status_code == 202 and again["Location"] == first["Location"]
    assert again.json()["status"] == "completed" and again["Idempotent-Replayed"] == "true"
    waited = api.post("/async/tests-sleep/order/", BODY, format="json", HTTP_IDEMPOTENCY_KEY="key-1",
                      HTTP_PREFER="wait=5")
    assert waited.status_code == 201 and waited["Location"] == "http://testserver/tests/results/1/"
    assert waited["Content-Location"] == first["Location"]


@pytest.mark.django_db
def test_same_key_and_body_returns_the_same_order(api):
    first = place(api)
    second = place(api)
    assert first.status_code == second.status_code == 202
    assert second.json()["id"] == first.json()["id"]
    assert second["Location"] == first["Location"]
    assert second["Idempotent-Replayed"] == "true"
    assert "Idempotent-Replayed" not in first
    assert Order.objects.count() == 1


@pytest.mark.django_db
def test_same_key_with_a_different_body_is_422(api):
    place(api)
    response = place(api, body={"items": 3, "delay": 0.01})
    assert response.status_code == 422
    assert response.json()["detail"] == "This Idempotency-Key was already used with a different request."
    assert Order.objects.count() == 1


@pytest.mark.django_db
def test_keys_belong_to_their_user(api, other_api):
    assert place(api).json()["id"] != place(other_api).json()["id"]
    assert Order.objects.count() == 2


@pytest.mark.django_db
def test_a_key_older_than_a_day_starts_a_new_order(api):
    first = place(api).json()["id"]
    Order.objects.filter(pk=first).update(created_at=timezone.now() - timedelta(hours=25))
    second = place(api)
    assert second.status_code == 202 and second.json()["id"] != first
    assert "Idempotent-Replayed" not in second


@pytest.mark.django_db
@pytest.mark.parametrize("key", ["", "x" * 256, "bad\u0007key"])
def test_malformed_keys_are_400(api, engine_alone, key):
    response = place(api, key=key)
    assert response.status_code == 400
    assert "Idempotency-Key" in response.json()
    assert not Order.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_concurrent_duplicates_make_one_order(user, redis_url):
    token = f"Token {Token.objects.create(user=user).key}"
    barrier = threading.Barrier(8)
    responses = [None] * 8

    def post(i):
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=token)
        barrier.wait()
        try:
            responses[i] = place(client, key="race")
        finally:
            connection.close()

    threads = [threading.Thread(target=post, args=(i,)) for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert [r.status_code for r in responses] == [202] * 8
    assert len({r.json()["id"] for r in responses}) == 1
    assert Order.objects.filter(idempotency_key="race").count() == 1
    assert sum(r.has_header("Idempotent-Replayed") for r in responses) == 7
