"""Fanned-out orders: parts run by several real workers, one progress, one result."""
import os
import signal
import time

import pytest

from asyncrest.models import Order, Part
from asyncrest.worker.context import RunningOrder
from asyncrest.worker.fanout import FanOut, start_parts
from tests.asyncrest.test_faults import Fault, order_id, wait_until
from tests.conftest import WorkerProcess, wait_for_order

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def two_workers(worker, redis_url, tmp_path):
    second = WorkerProcess(redis_url, tmp_path / "second-worker.log").start()
    yield [worker, second]
    second.stop()


def test_parts_run_on_several_workers_and_add_up_to_one_order(api, two_workers):
    location = api.post("/async/tests-fanout/order/", {"parts": 6, "size": 10, "delay": 0.03}, format="json")["Location"]
    seen = set()
    deadline = time.monotonic() + 30
    while (body := api.get(location).json())["status"] == "queued" or body["status"] == "running":
        if body["status"] == "running" and body["total"] == 60:
            seen.add(body["processed"])
        assert time.monotonic() < deadline
        time.sleep(0.02)
    final = api.get(location)
    assert final.status_code == 201
    assert final["Location"] == f"http://testserver/tests/fanned/{order_id(location)}/"
    assert (final.json()["processed"], final.json()["total"], final.json()["progress"]) == (60, 60, 100.0)
    assert len([p for p in seen if 0 < p < 60]) >= 3, seen
    parts = Part.objects.filter(order_id=order_id(location))
    assert sorted(parts.values_list("index", flat=True)) == list(range(6))
    assert set(parts.values_list("status", flat=True)) == {"completed"}
    assert set(parts.values_list("processed", flat=True)) == {10}


def test_a_failing_part_fails_the_order_with_its_error(api, worker):
    location = api.post(
        "/async/tests-fanout/order/", {"parts": 3, "size": 10, "delay": 0.01, "fail_part": 1}, format="json"
    )["Location"]
    final = wait_for_order(api, location)
    assert final.status_code == 200
    assert final.json()["status"] == "failed"
    assert final.json()["error"] == {"code": "part_broke", "message": "A part of the job failed: the part broke"}
    failed = Part.objects.get(order_id=order_id(location), index=1)
    assert (failed.status, failed.error_code) == ("failed", "part_broke")


def test_a_fan_out_with_no_parts_completes_at_once(api, worker):
    final = wait_for_order(api, api.post("/async/tests-fanout/order/", {"parts": 0}, format="json")["Location"])
    assert final.status_code == 201
    assert final.json()["total"] == 0


def test_cancelling_a_fanned_out_order_stops_its_parts(api, worker):
    location = api.post("/async/tests-fanout/order/", {"parts": 4, "size": 100, "delay": 0.05}, format="json")["Location"]
    wait_until(lambda: Order.objects.get(pk=order_id(location)).processed > 0, what="progress")
    assert api.delete(location).status_code == 202
    final = wait_for_order(api, location, timeout=20)
    assert final.status_code == 200 and final.json()["status"] == "cancelled"
    parts = Part.objects.filter(order_id=order_id(location))
    assert not parts.filter(status__in=["queued", "running"]).exists()
    assert final.json()["processed"] < 400


def test_a_part_whose_horse_is_killed_is_retried(api, tmp_path, settings):
    fault = Fault(tmp_path, settings)
    try:
        worker = fault.start_worker("asyncrest.worker.ForkingWorker")
        location = api.post("/async/tests-fanout/order/", {"parts": 2, "size": 40, "delay": 0.05}, format="json")[
            "Location"
        ]
        wait_until(lambda: Part.objects.filter(order_id=order_id(location), processed__gt=2).exists(), what="a part")
        os.kill(worker.horse_pid(), signal.SIGKILL)
        final = wait_for_order(api, location, timeout=60)
        assert final.status_code == 201
        assert final.json()["processed"] == 80
        assert sorted(Part.objects.filter(order_id=order_id(location)).values_list("attempts", flat=True)) == [1, 2]
    finally:
        fault.close()


def test_starting_parts_twice_stores_each_part_once(user):
    order = Order.objects.create(owner=user, resource="tests-fanout")
    fan = FanOut(part="tests.jobs.fanned_part", then="tests.jobs.fanned_done", inputs=({}, {}), totals=(1, 1))
    for lease in ("lease-1", "lease-2"):
        Order.objects.filter(pk=order.pk).update(status="running", lease=lease)
        start_parts(RunningOrder.from_row(Order.objects.get(pk=order.pk), lease), fan)
    assert Part.objects.filter(order=order).count() == 2
