"""Partial failure of fanned-out orders, and retrying only what failed, with a real Redis and worker.

`tests-fanout-tolerant` (tests/jobs.py) tolerates a quarter of its items failing; its parts in
`fail_parts` break half-way through, except in a retry, whose job redoes just those parts
(`fan_out_failed`). `tests-fanout` is strict: any failed part fails the order.
"""
import time

import pytest

from asyncrest import lifecycle
from asyncrest.models import Order, Part
from asyncrest.registry import get_resource
from tests.conftest import wait_for_order

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("worker")]

TEN_PARTS = {"parts": 10, "size": 100, "delay": 0}


def settled(api, location, timeout=60):
    """Wait for the order, then for the queue to run dry: a failed order's other parts are still jobs
    to the worker, and its writes must not meet the flush of the tables at the test's end."""
    from rq.registry import StartedJobRegistry

    from asyncrest.broker.queues import get_queue

    final = wait_for_order(api, location, timeout=timeout)
    queue = get_queue()
    deadline = time.monotonic() + timeout
    while queue.count or StartedJobRegistry(queue=queue).count:
        assert time.monotonic() < deadline, "the queue did not run dry"
        time.sleep(0.05)
    return final


def place(api, resource="tests-fanout-tolerant", **data):
    response = api.post(f"/async/{resource}/order/", {**TEN_PARTS, **data}, format="json")
    assert response.status_code == 202, response.json()
    return response["Location"]


def test_failed_parts_within_the_tolerance_complete_the_order_with_counts(api):
    location = place(api, fail_parts=[1, 4, 7])
    final = wait_for_order(api, location, timeout=60)
    body = final.json()
    assert final.status_code == 201, body
    # Each failed part did its first 50 items; its other 50 failed.
    assert body["counts"] == {"total": 1000, "succeeded": 850, "failed": 150}
    assert (body["processed"], body["progress"]) == (1000, 100.0)
    parts = Part.objects.filter(order_id=body["id"]).order_by("index")
    assert [part.status for part in parts] == ["failed" if i in (1, 4, 7) else "completed" for i in range(10)]
    failed = [part for part in parts if part.status == "failed"]
    assert {(p.error_code, p.error_message, p.processed, p.failed) for p in failed} == {
        ("part_broke", f"Part {p.index + 1} failed: part {p.index} broke", 50, 50) for p in failed
    }
    assert all("Traceback" in p.error_detail for p in failed)


def test_more_failures_than_tolerated_fail_the_order_saying_how_many(api):
    location = place(api, fail_parts=[0, 2, 4, 6, 8, 9])
    final = settled(api, location)
    body = final.json()
    assert final.status_code == 200 and body["status"] == "failed", body
    # The code and message of its first failure (the lowest part's), with how many failed.
    assert body["error"] == {"code": "part_broke", "message": "300 of 1,000 items failed, more than the 250 "
                             "tolerated. The first failure: Part 1 failed: part 0 broke"}
    assert get_resource("tests-fanout-tolerant").allowed_failures(1000) == 250


def test_a_strict_resource_fails_the_order_at_its_first_failed_part(api):
    location = place(api, resource="tests-fanout", fail_part=3)
    body = settled(api, location).json()
    assert body["status"] == "failed" and body["error"]["code"] == "part_broke"


def test_items_a_part_reports_failed_are_counted_once_and_the_order_completes(api):
    location = place(api, bad_items=4)
    body = wait_for_order(api, location, timeout=60).json()
    assert body["status"] == "completed", body
    assert body["counts"] == {"total": 1000, "succeeded": 960, "failed": 40}
    assert set(Part.objects.filter(order_id=body["id"]).values_list("failed", flat=True)) == {4}


def test_reported_failures_past_the_tolerance_stop_the_order(api):
    location = place(api, bad_items=30)
    body = settled(api, location).json()
    # Failures reported without a code: the order says only that there were too many.
    assert body["status"] == "failed" and body["error"]["code"] == "too_many_failures", body
    assert body["error"]["message"].endswith(" items failed, more than the 250 tolerated.")
    assert body["counts"]["failed"] > 250


def test_retry_redoes_only_the_failed_parts_and_links_both_orders(api):
    location = place(api, fail_parts=[1, 4, 7])
    original = wait_for_order(api, location, timeout=60).json()
    before = Order.objects.filter(pk=original["id"]).values().get()

    response = api.post(f"{location}retry/")
    assert response.status_code == 202, response.json()
    retry = response.json()
    assert response["Location"] == retry["url"]
    assert retry["retry_of"] == original["url"] and retry["status"] == "queued"
    final = wait_for_order(api, retry["url"], timeout=60)
    assert final.status_code == 201, final.json()
    assert final.json()["counts"] == {"total": 300, "succeeded": 300, "failed": 0}
    redone = Part.objects.filter(order_id=retry["id"]).order_by("index")
    assert [part.input for part in redone] == [
        {"size": 100, "delay": 0, "fail": True, "bad": 0} for _ in (1, 4, 7)
    ]

    again = api.get(location).json()
    assert again["retried_by"] == retry["url"], "the original points to its retry"
    assert Order.objects.filter(pk=original["id"]).values().get() == before, "a finished order never changes"
    listed = {order["id"]: order for order in api.get("/async/orders/").json()["results"]}
    assert listed[original["id"]]["retried_by"] == retry["url"]
    assert listed[retry["id"]]["retry_of"] == original["url"]


def test_retry_with_an_idempotency_key_places_one_order(api):
    location = place(api, fail_parts=[2])
    wait_for_order(api, location, timeout=60)
    first = api.post(f"{location}retry/", HTTP_IDEMPOTENCY_KEY="retry-once")
    second = api.post(f"{location}retry/", HTTP_IDEMPOTENCY_KEY="retry-once")
    assert first.status_code == second.status_code == 202
    assert first.json()["id"] == second.json()["id"] and second["Idempotent-Replayed"] == "true"
    assert Order.objects.filter(retry_of_id=first.json()["retry_of"].rstrip("/").rsplit("/", 1)[1]).count() == 1
    # Done before the test ends: a worker still writing would hold up the flush of the tables.
    assert wait_for_order(api, first["Location"], timeout=60).json()["status"] == "completed"


def test_retry_is_refused_for_pending_orders_and_for_completed_ones_with_nothing_failed(api):
    done = wait_for_order(api, place(api), timeout=60)
    assert done.json()["counts"]["failed"] == 0
    refused = api.post(f"{done.json()['url']}retry/")
    assert refused.status_code == 409
    assert refused.json()["detail"] == "The order completed and none of its items failed: there is nothing to retry."

    pending = api.post("/async/tests-sleep/order/", {"items": 200, "delay": 0.05}, format="json")["Location"]
    refused = api.post(f"{pending}retry/")
    assert refused.status_code == 409 and "only a finished order can be retried" in refused.json()["detail"]
    api.delete(pending)
    assert wait_for_order(api, pending, timeout=60).json()["status"] == "cancelled"


def test_another_users_order_cannot_be_retried(api, other_api):
    location = place(api, fail_parts=[0])
    wait_for_order(api, location, timeout=60)
    assert other_api.post(f"{location}retry/").status_code == 404
    assert api.post("/async/orders/00000000-0000-0000-0000-000000000000/retry/").status_code == 404
    assert not Order.objects.filter(retry_of__isnull=False).exists()


def test_a_failed_order_without_parts_is_redone_whole(api):
    location = api.post("/async/tests-job-error/order/", {}, format="json")["Location"]
    failed = wait_for_order(api, location).json()
    assert failed["status"] == "failed"
    retry = api.post(f"{location}retry/").json()
    assert Order.objects.get(pk=retry["id"]).input == Order.objects.get(pk=failed["id"]).input
    assert wait_for_order(api, retry["url"]).json()["status"] == "failed", "the same job, the same outcome"


def test_tolerance_must_be_a_count_or_a_share():
    from django.core.exceptions import ImproperlyConfigured

    from asyncrest import register

    for bad in (-1, 1.5, 0.0, "10%", True):
        with pytest.raises(ImproperlyConfigured, match="tolerate="):
            register("tests-bad-tolerance", tolerate=bad)


def test_why_not_retryable_names_each_case(user):
    order = Order.objects.create(owner=user, resource="tests-sleep")
    assert "still queued" in lifecycle.why_not_retryable(order)
    Order.objects.filter(pk=order.pk).update(status="cancelled")
    order.refresh_from_db()
    assert lifecycle.why_not_retryable(order) == ""
    Order.objects.filter(pk=order.pk).update(status="failed", resource="gone-away")
    order.refresh_from_db()
    assert "gone-away" in lifecycle.why_not_retryable(order)
