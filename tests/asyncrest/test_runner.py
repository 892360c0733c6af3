"""Orders carried through a real Redis and a real RQ worker process."""
import time

import pytest

from asyncrest import lifecycle
from asyncrest.models import Order
from tests.conftest import wait_for_order

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("worker")]


def test_order_completes_with_201_and_resource_location(api):
    location = api.post("/async/tests-sleep/order/", {"items": 3, "delay": 0.01}, format="json")["Location"]
    response = wait_for_order(api, location)
    order_id = response.json()["id"]
    assert response.status_code == 201
    assert response["Location"] == f"http://testserver/tests/results/{order_id}/"
    body = response.json()
    assert body["status"] == "completed"
    assert (body["processed"], body["total"], body["progress"]) == (3, 3, 100.0)
    assert body["attempts"] == 1
    assert body["started_at"] and body["finished_at"] >= body["started_at"]


def test_progress_is_seen_between_0_and_100_while_running(api):
    location = api.post("/async/tests-sleep/order/", {"items": 100, "delay": 0.05}, format="json")["Location"]
    seen = []
    deadline = time.monotonic() + 60  # the shared test worker may still be finishing another test's job
    while time.monotonic() < deadline:
        response = api.get(location)
        body = response.json()
        if body["status"] == "running":
            assert response.status_code == 202 and response["Retry-After"] == "1"
            # Claimed but before its first progress write, an order has no total yet.
            if body["total"] is not None:
                seen.append(body["progress"])
                assert body["total"] == 100 and body["message"] == "Sleeping"
        if body["status"] == "completed":
            break
        time.sleep(0.05)
    assert body["status"] == "completed", body
    between = [p for p in seen if 0 < p < 100]
    assert len(set(between)) >= 3, seen
    assert between == sorted(between), "progress went backwards"


def test_failing_job_is_200_with_clear_error_and_no_traceback(api):
    location = api.post("/async/tests-broken/order/", {}, format="json")["Location"]
    response = wait_for_order(api, location)
    assert response.status_code == 200
    assert response.json()["status"] == "failed"
    assert response.json()["error"] == {"code": "report_failed", "message": "The report could not be built"}
    text = response.content.decode()
    assert "Traceback" not in text and "hunter2" not in text
    # The traceback is kept for operators, on the order row behind the admin.
    order = Order.objects.get(pk=response.json()["id"])
    assert "RuntimeError: secret-internal-detail" in order.error_detail


def test_job_error_keeps_its_code_and_message(api):
    response = wait_for_order(api, api.post("/async/tests-job-error/order/", {}, format="json")["Location"])
    assert response.status_code == 200
    assert response.json()["error"] == {"code": "empty_input", "message": "The job failed: the input had no rows"}


def test_job_without_a_resource_fails_clearly(api):
    response = wait_for_order(api, api.post("/async/tests-nothing/order/", {}, format="json")["Location"])
    assert response.json()["status"] == "failed"
    assert response.json()["error"]["code"] == "no_resource"


def test_cancelled_running_order_stops_at_next_progress_step(api):
    location = api.post("/async/tests-sleep/order/", {"items": 200, "delay": 0.05}, format="json")["Location"]
    wait_for_order(api, location, until=("running",))
    order_id = location.rstrip("/").rsplit("/", 1)[1]
    assert lifecycle.cancel(order_id)
    time.sleep(0.5)
    order = Order.objects.get(pk=order_id)
    frozen = order.processed
    time.sleep(0.5)
    order.refresh_from_db()
    assert order.status == "cancelled"
    assert order.processed == frozen < 200
    assert api.get(location).status_code == 200


def test_jobs_queued_by_0_1_under_the_old_dotted_paths_still_run(api, user):
    """Orders and parts enqueued before the upgrade name asyncrest.jobs / .fanout / .webhooks: they drain."""
    from django.utils.module_loading import import_string

    from asyncrest.broker.queues import get_queue
    from asyncrest.webhooks.delivery import deliver
    from asyncrest.worker.fanout import run_part
    from asyncrest.worker.runner import run_order

    order = lifecycle.place(Order(owner=user, resource="tests-sleep", input={"items": 2, "delay": 0.01}),
                            enqueue=False)
    get_queue().enqueue("asyncrest.jobs.run_order", str(order.pk), job_id=str(order.pk))
    done = wait_for_order(api, f"/async/orders/{order.pk}/")
    assert done.status_code == 201, done.json()
    assert import_string("asyncrest.fanout.run_part") is run_part
    assert import_string("asyncrest.webhooks.deliver") is deliver
    assert import_string("asyncrest.jobs.run_order") is run_order
