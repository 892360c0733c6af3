"""Faults against a real Redis and real worker processes: nothing lost, nothing stuck, nothing twice.

Each test gets its own embedded Redis and queue, and starts its own workers with the
reconciler on (every second), so it can stop, flush or kill them without touching the
rest of the suite.
"""
import os
import signal
import time
import uuid

import pytest
import redis

from asyncrest.broker.embedded import EmbeddedRedis
from asyncrest.models import Order, Part
from tagging.models import Log, Tag
from tagging.taggers.keywords import KeywordTagger
from tests.conftest import WorkerProcess, wait_for_order

pytestmark = pytest.mark.django_db(transaction=True)

FORKING = "asyncrest.worker.ForkingWorker"

ENTRIES = [
    f"{i}: " + text
    for i, text in enumerate(
        [
            "deployed the Django API on Kubernetes",
            "lunch with the team",
            "tuned PostgreSQL indexes",
            "fixed a React rendering bug",
            "wrote Terraform for the S3 buckets",
        ]
        * 6
    )
]


class Fault:
    """A private Redis, queue and set of workers for one fault test."""

    def __init__(self, tmp_path, settings):
        self.tmp_path = tmp_path
        self.redis = EmbeddedRedis(tmp_path / "redis", port=0, appendonly=False, save="").start()
        self.queue = f"faults-{uuid.uuid4().hex[:8]}"
        settings.RQ_QUEUES = {**settings.RQ_QUEUES, self.queue: {"URL": self.redis.url}}
        settings.ASYNCREST = {**settings.ASYNCREST, "QUEUE": self.queue}
        self.workers: list[WorkerProcess] = []

    def start_worker(self, worker_class: str = "asyncrest.worker.Worker", *, scheduler: bool = True,
                     **extra_env) -> WorkerProcess:
        env = {"ASYNCREST_TEST_RECONCILE_INTERVAL": "1", **extra_env}
        log = self.tmp_path / f"worker-{len(self.workers)}.log"
        worker = WorkerProcess(self.redis.url, log, queue=self.queue, extra_env=env, worker_class=worker_class,
                               scheduler=scheduler).start()
        self.workers.append(worker)
        return worker

    def client(self) -> redis.Redis:
        return redis.Redis.from_url(self.redis.url)

    def close(self):
        for worker in self.workers:
            worker.stop()
        self.redis.stop()


@pytest.fixture
def fault(tmp_path, settings):
    fault = Fault(tmp_path, settings)
    yield fault
    fault.close()


def order_id(location: str) -> str:
    return location.rstrip("/").rsplit("/", 1)[1]


def wait_until(predicate, timeout=30, what="condition"):
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


def running_with_progress(pk, at_least=3):
    """Whether the order runs and has made progress (for a batch: in its tagging part)."""
    order = Order.objects.get(pk=pk)
    tagging = order.resource != "tagging" or order.message == "Tagging entries"
    return order.status == "running" and tagging and order.processed >= at_least


def assert_entries_stored_once(pk, entries):
    logs = Log.objects.filter(order_id=pk)
    assert logs.count() == len(entries)
    assert sorted(logs.values_list("position", flat=True)) == list(range(len(entries)))
    expected_tags = sum(len(result.tags) for result in KeywordTagger().tag(entries))
    assert Tag.objects.filter(log__order_id=pk).count() == expected_tags


def test_killed_work_horse_is_retried_and_nothing_is_stored_twice(api, fault):
    worker = fault.start_worker(FORKING, ASYNCREST_TEST_TAGGER_DELAY="0.1")
    location = api.post("/async/tagging/order/", {"entries": ENTRIES}, format="json")["Location"]
    wait_until(lambda: running_with_progress(order_id(location)), what="progress")
    os.kill(worker.horse_pid(), signal.SIGKILL)

    final = wait_for_order(api, location, timeout=60)
    assert final.status_code == 201
    # The entries were stored by the order's job, then tagged by its one part: the part was retried.
    assert final.json()["attempts"] == 1
    assert Part.objects.get(order_id=order_id(location)).attempts == 2
    assert_entries_stored_once(order_id(location), ENTRIES)
    assert worker.process.poll() is None, "the worker itself survives its horse"


def test_killed_worker_leaves_its_horse_to_finish_the_job(api, fault):
    worker = fault.start_worker(FORKING, ASYNCREST_TEST_TAGGER_DELAY="0.05")
    location = api.post("/async/tagging/order/", {"entries": ENTRIES}, format="json")["Location"]
    wait_until(lambda: running_with_progress(order_id(location)), what="progress")
    worker.kill()

    final = wait_for_order(api, location, timeout=60)
    assert final.status_code == 201
    assert final.json()["attempts"] == 1
    assert_entries_stored_once(order_id(location), ENTRIES)


def test_crashed_machine_worker_and_horse_gone_is_retried_by_a_new_worker(api, fault):
    worker = fault.start_worker(FORKING, ASYNCREST_TEST_TAGGER_DELAY="0.1")
    location = api.post("/async/tagging/order/", {"entries": ENTRIES}, format="json")["Location"]
    wait_until(lambda: running_with_progress(order_id(location)), what="progress")
    horse = worker.horse_pid()
    worker.kill()
    os.kill(horse, signal.SIGKILL)
    started = time.monotonic()
    fault.start_worker(ASYNCREST_TEST_TAGGER_DELAY="0.01")

    wait_until(lambda: Part.objects.get(order_id=order_id(location)).attempts == 2, timeout=60, what="the retry")
    assert time.monotonic() - started < 60, "a lost worker is noticed within 60 s"
    final = wait_for_order(api, location, timeout=60)
    assert final.status_code == 201
    assert_entries_stored_once(order_id(location), ENTRIES)


def test_lost_worker_on_the_last_attempt_fails_the_order_with_worker_lost(api, fault):
    worker = fault.start_worker(FORKING)
    location = api.post("/async/tests-fragile/order/", {"items": 100, "delay": 0.05}, format="json")["Location"]
    wait_until(lambda: running_with_progress(order_id(location)), what="progress")
    os.kill(worker.horse_pid(), signal.SIGKILL)

    final = wait_for_order(api, location, timeout=60)
    assert final.status_code == 200
    assert final.json()["status"] == "failed"
    assert final.json()["error"]["code"] == "worker_lost"
    assert "stopped responding" in final.json()["error"]["message"]
    assert final.json()["attempts"] == 1


def test_orders_posted_while_redis_is_down_are_delivered_when_it_returns(api, fault):
    fault.redis.stop()
    locations = [
        api.post("/async/tagging/order/", {"entry": entry}, format="json") for entry in ENTRIES[:3]
    ]
    assert [r.status_code for r in locations] == [202, 202, 202]
    assert {r.json()["status"] for r in locations} == {"queued"}
    assert Order.objects.filter(status="queued").count() == 3

    fault.redis.start()  # the same port, and empty: nothing was persisted
    fault.start_worker()
    for response, entry in zip(locations, ENTRIES[:3], strict=True):
        final = wait_for_order(api, response["Location"])
        assert final.status_code == 201
        assert final.json()["attempts"] == 1
        assert_entries_stored_once(final.json()["id"], [entry])


def test_orders_queued_in_a_flushed_redis_are_enqueued_again(api, fault):
    locations = [api.post("/async/tagging/order/", {"entry": e}, format="json")["Location"] for e in ENTRIES[:3]]
    client = fault.client()
    # One-entry orders are coalesced: one drain job carries the three.
    assert client.llen(f"rq:queue:{fault.queue}") == 1
    client.flushall()  # as a restart without persistence would

    fault.start_worker()
    for location, entry in zip(locations, ENTRIES[:3], strict=True):
        final = wait_for_order(api, location)
        assert final.status_code == 201 and final.json()["attempts"] == 1
        assert_entries_stored_once(order_id(location), [entry])


def test_job_past_its_time_limit_fails_with_timeout(api, fault):
    fault.start_worker()
    location = api.post("/async/tests-overrun/order/", {"items": 100, "delay": 0.2}, format="json")["Location"]
    final = wait_for_order(api, location, timeout=30)
    assert final.status_code == 200
    assert final.json()["status"] == "failed"
    assert final.json()["error"] == {"code": "timeout", "message": "The job failed: the job ran past its time limit"}


def test_sigterm_lets_the_worker_finish_its_job(api, fault):
    worker = fault.start_worker(ASYNCREST_TEST_TAGGER_DELAY="0.05")
    location = api.post("/async/tagging/order/", {"entries": ENTRIES}, format="json")["Location"]
    wait_until(lambda: running_with_progress(order_id(location)), what="progress")
    worker.process.send_signal(signal.SIGTERM)

    final = wait_for_order(api, location, timeout=60)
    assert final.status_code == 201 and final.json()["attempts"] == 1
    assert worker.process.wait(30) == 0
    assert_entries_stored_once(order_id(location), ENTRIES)


def test_killed_worker_running_jobs_in_process_is_replaced_and_its_job_retried(api, fault):
    worker = fault.start_worker(ASYNCREST_TEST_TAGGER_DELAY="0.1")
    location = api.post("/async/tagging/order/", {"entries": ENTRIES}, format="json")["Location"]
    wait_until(lambda: running_with_progress(order_id(location)), what="progress")
    worker.kill()
    fault.start_worker(ASYNCREST_TEST_TAGGER_DELAY="0.01")

    final = wait_for_order(api, location, timeout=60)
    assert final.status_code == 201
    assert Part.objects.get(order_id=order_id(location)).attempts == 2
    assert_entries_stored_once(order_id(location), ENTRIES)


def test_sigterm_while_redis_is_down_does_not_fail_the_order(api, fault):
    """A warm shutdown writes to Redis; with Redis gone that write must not turn into a failed order."""
    worker = fault.start_worker(ASYNCREST_TEST_TAGGER_DELAY="0.05")
    location = api.post("/async/tagging/order/", {"entries": ENTRIES}, format="json")["Location"]
    wait_until(lambda: running_with_progress(order_id(location)), what="progress")
    fault.redis.kill()
    worker.process.send_signal(signal.SIGTERM)
    worker.process.wait(60)
    assert Order.objects.get(pk=order_id(location)).status in ("running", "completed")

    fault.redis.start()  # empty: the reconciler re-enqueues what is left from the database
    fault.start_worker(ASYNCREST_TEST_TAGGER_DELAY="0.01")
    final = wait_for_order(api, location, timeout=90)
    assert final.status_code == 201, final.json()
    assert_entries_stored_once(order_id(location), ENTRIES)


def test_an_order_whose_redis_went_away_mid_job_is_retried_not_failed(api, fault):
    """Redis down while a part runs: whatever in the job meets the lost connection, the order completes."""
    fault.start_worker(ASYNCREST_TEST_TAGGER_DELAY="0.05")
    location = api.post("/async/tagging/order/", {"entries": ENTRIES}, format="json")["Location"]
    wait_until(lambda: running_with_progress(order_id(location)), what="progress")
    fault.redis.kill()
    time.sleep(2)
    fault.redis.start()
    fault.start_worker(ASYNCREST_TEST_TAGGER_DELAY="0.01")
    final = wait_for_order(api, location, timeout=90)
    assert final.status_code == 201, final.json()
    assert_entries_stored_once(order_id(location), ENTRIES)


@pytest.mark.parametrize("worker_class", ["asyncrest.worker.Worker", FORKING])
def test_a_batch_whose_worker_dies_is_retried_and_each_entry_stored_once(api, fault, worker_class):
    """Coalesced one-entry orders: kill -9 of the process running their batch loses none of them."""
    entries = ENTRIES[:5]
    locations = [api.post("/async/tagging/order/", {"entry": entry}, format="json")["Location"] for entry in entries]
    ids = [order_id(location) for location in locations]
    assert Order.objects.filter(pk__in=ids, coalesced=True).count() == 5
    worker = fault.start_worker(worker_class, ASYNCREST_TEST_TAGGER_DELAY="0.6")  # the batch tags for 3 s
    wait_until(lambda: Order.objects.filter(pk__in=ids, status="running").count() == 5, what="the batch's claim")
    assert len(set(Order.objects.filter(pk__in=ids).values_list("lease", flat=True))) == 1, "one batch, one lease"
    if worker_class == FORKING:
        os.kill(worker.horse_pid(), signal.SIGKILL)  # the worker lives on and serves the retry
    else:
        worker.kill()
        fault.start_worker(ASYNCREST_TEST_TAGGER_DELAY="0.01")

    for location, entry in zip(locations, entries, strict=True):
        final = wait_for_order(api, location, timeout=60)
        assert final.status_code == 201, final.json()
        assert final.json()["attempts"] == 2
        assert_entries_stored_once(order_id(location), [entry])
