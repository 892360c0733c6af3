"""DELETE /async/orders/<uuid>/ in each state of an order."""
import time
import uuid
from datetime import timedelta

import pytest
from django.utils import timezone

from asyncrest import lifecycle
from asyncrest.broker.queues import get_queue
from asyncrest.models import Order
from asyncrest.worker.reconciler import reconcile
from tests.conftest import wait_for_order


def place(api, items=1, delay=0.05):
    return api.post("/async/tests-sleep/order/", {"items": items, "delay": delay}, format="json")


@pytest.mark.django_db(transaction=True)
def test_queued_order_is_cancelled_at_once_and_its_job_removed(api, redis_url, settings):
    # A queue no worker listens to, so the order stays queued whatever else the suite runs.
    private = f"cancel-{uuid.uuid4().hex[:8]}"
    settings.RQ_QUEUES = {**settings.RQ_QUEUES, private: {"URL": redis_url}}
    settings.ASYNCREST = {**settings.ASYNCREST, "QUEUE": private}
    queue = get_queue()
    location = place(api)["Location"]
    assert queue.count == 1
    response = api.delete(location)
    assert response.status_code == 200
    assert response.json()["status"] == "cancelled"
    assert response.json()["finished_at"] is not None
    assert queue.count == 0
    assert api.get(location).status_code == 200


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("worker")
def test_running_order_stops_at_its_next_progress_step(api):
    location = place(api, items=400, delay=0.05)["Location"]
    wait_for_order(api, location, until=("running",))
    response = api.delete(location)
    if response.status_code == 200:
        # The job reached its next progress step before the answer was written: already cancelled.
        assert response.json()["status"] == "cancelled"
    else:
        assert response.status_code == 202
        assert response["Retry-After"] == "1"
        assert response.json()["status"] == "running"
        assert response.json()["message"] == "Cancelling"

    final = wait_for_order(api, location, timeout=10)
    assert final.status_code == 200 and final.json()["status"] == "cancelled"
    processed = final.json()["processed"]
    assert processed < 400
    time.sleep(0.3)
    assert api.get(location).json()["processed"] == processed, "the job stopped"


@pytest.mark.django_db
@pytest.mark.parametrize("finish", ["completed", "failed", "cancelled"])
def test_finished_order_is_409(api, finish):
    order_id = place(api).json()["id"]
    lifecycle.claim(order_id, "lease-1")
    {"completed": lambda: lifecycle.complete(order_id, "/x/"),
     "failed": lambda: lifecycle.fail(order_id, "boom", "Boom."),
     "cancelled": lambda: lifecycle.cancel(order_id)}[finish]()
    response = api.delete(f"/async/orders/{order_id}/")
    assert response.status_code == 409
    assert finish in response.json()["detail"]
    assert Order.objects.get(pk=order_id).status == finish


@pytest.mark.django_db
def test_order_waiting_for_a_retry_is_cancelled_at_once(api):
    order_id = place(api).json()["id"]
    lifecycle.claim(order_id, "lease-1")
    lifecycle.release(order_id, "lease-1", "Retrying")
    response = api.delete(f"/async/orders/{order_id}/")
    assert response.status_code == 200
    assert response.json()["status"] == "cancelled"
    assert not lifecycle.claim(order_id, "lease-2")


@pytest.mark.django_db
def test_cancelling_someone_elses_order_is_404(api, other_api):
    location = place(api)["Location"]
    assert other_api.delete(location).status_code == 404
    assert api.get(location).json()["status"] == "queued"


@pytest.mark.django_db
def test_cancel_requested_on_a_lost_worker_ends_cancelled(api):
    order_id = place(api).json()["id"]
    lifecycle.claim(order_id, "lease-1")
    assert api.delete(f"/async/orders/{order_id}/").status_code == 202
    Order.objects.filter(pk=order_id).update(heartbeat_at=timezone.now() - timedelta(minutes=5))
    assert reconcile().cancelled == 1
    assert Order.objects.get(pk=order_id).status == "cancelled"
