"""Retries with backoff, through a real Redis, real RQ workers and RQ's scheduler.

The resources are in tests/jobs.py: `tests-flaky` retries `Unavailable` and `TimeoutError`
(4 attempts, 1 s doubling to at most 2 s, with jitter: waits of 0.5-1 s, then 1-2 s, then 1-2 s);
`tests-retry-later` asks for its own wait with `RetryLater`.
"""
import time

import pytest
import redis
from rq.job import Job
from rq.registry import ScheduledJobRegistry

from asyncrest import Retry, RetryLater
from asyncrest.broker.queues import get_queue
from asyncrest.models import Order
from asyncrest.registry import get_resource
from tests.asyncrest.test_faults import Fault
from tests.conftest import wait_for_order

pytestmark = pytest.mark.django_db(transaction=True)

#: How late a due attempt may start: RQ's schedule keeps whole seconds (a due time is rounded up)
#: and its scheduler looks once a second; then a worker takes the job.
SCHEDULER_SLACK = 3.0


def attempt_times(redis_url: str, key: str) -> list[float]:
    client = redis.Redis.from_url(redis_url)
    try:
        return [float(value) for value in client.lrange(f"tests:attempts:{key}", 0, -1)]
    finally:
        client.close()


def wait_for_retry(api, location, timeout=30) -> dict:
    """Poll until the order waits for its next attempt; return that body."""
    deadline = time.monotonic() + timeout
    while True:
        body = api.get(location).json()
        if body["retry"] is not None:
            return body
        assert body["status"] in ("queued", "running"), body
        assert time.monotonic() < deadline, f"the order never waited for a retry: {body}"
        time.sleep(0.02)


# -- the policy itself -------------------------------------------------------------------


@pytest.mark.parametrize("attempt, low, high", [(1, 1.0, 2.0), (2, 2.0, 4.0), (3, 4.0, 8.0), (4, 5.0, 10.0), (9, 5.0, 10.0)])
def test_backoff_doubles_within_jitter_bounds_up_to_max_delay(attempt, low, high):
    policy = Retry(on=(ValueError,), backoff=2.0, max_delay=10.0)
    assert policy.bounds(attempt) == (low, high)
    waits = [policy.delay(attempt) for _ in range(500)]
    assert all(low <= wait <= high for wait in waits)
    assert max(waits) - min(waits) > (high - low) / 2, "jitter spreads the waits"


def test_without_jitter_the_wait_is_exact():
    policy = Retry(backoff=3, max_delay=20, jitter=False)
    assert [policy.delay(n) for n in (1, 2, 3, 4, 5)] == [3, 6, 12, 20, 20]


@pytest.mark.parametrize("kwargs, words", [
    ({"on": ("ValueError",)}, "exception classes"),
    ({"on": (ValueError, 3)}, "exception classes"),
    ({"max_attempts": 0}, "whole number"),
    ({"max_attempts": 2.5}, "whole number"),
    ({"max_attempts": True}, "whole number"),
    ({"backoff": -1}, "number of seconds"),
    ({"backoff": "5"}, "number of seconds"),
    ({"max_delay": 10 ** 9}, "number of seconds"),
    ({"backoff": 10, "max_delay": 5}, "shorter than backoff"),
])
def test_a_bad_policy_is_refused_with_a_clear_message(kwargs, words):
    from django.core.exceptions import ImproperlyConfigured

    with pytest.raises(ImproperlyConfigured, match=words):
        Retry(**kwargs)


def test_one_exception_class_is_taken_as_a_tuple():
    policy = Retry(on=ValueError)
    assert policy.on == (ValueError,)
    assert policy.retries(ValueError("x")) and not policy.retries(KeyError("x"))
    assert not Retry().retries(ValueError("x")), "a policy without `on` retries nothing by itself"


def test_register_refuses_two_different_attempt_counts():
    from django.core.exceptions import ImproperlyConfigured

    from asyncrest import register

    with pytest.raises(ImproperlyConfigured, match="disagree"):
        register("tests-disagree", max_attempts=3, retry=Retry(max_attempts=5))
    with pytest.raises(ImproperlyConfigured, match="asyncrest.Retry"):
        register("tests-disagree", retry={"max_attempts": 5})


def test_the_policy_gives_the_resources_attempts():
    assert get_resource("tests-flaky").get_max_attempts() == 4
    assert get_resource("tests-retry-later").get_max_attempts() == 3


@pytest.mark.parametrize("after", [-1, "10", True, object()])
def test_retry_later_refuses_a_wait_that_is_not_seconds(after):
    with pytest.raises(ValueError, match="seconds"):
        RetryLater("busy", after=after)


def test_retry_later_takes_a_timedelta():
    from datetime import timedelta

    assert RetryLater("busy", after=timedelta(minutes=2)).after == 120.0


# -- through real workers ------------------------------------------------------------------


@pytest.mark.usefixtures("worker")
def test_two_transient_failures_then_success_completes_with_three_attempts_within_the_backoff(api, redis_url):
    location = api.post("/async/tests-flaky/order/", {"failures": 2}, format="json")["Location"]
    final = wait_for_order(api, location, timeout=60)
    body = final.json()
    assert final.status_code == 201, body
    assert body["status"] == "completed" and body["attempts"] == 3
    assert body["retry"] is None and body["error"] is None
    starts = attempt_times(redis_url, body["id"])
    assert len(starts) == 3
    policy = get_resource("tests-flaky").get_retry()
    for attempt, (before, after) in enumerate(zip(starts, starts[1:]), start=1):
        low, high = policy.bounds(attempt)
        gap = after - before
        print(f"wait after attempt {attempt}: {gap:.2f} s (policy: {low:.1f}-{high:.1f} s)")
        assert low - 0.05 <= gap <= high + SCHEDULER_SLACK, (attempt, gap)


@pytest.mark.usefixtures("worker")
def test_an_order_waiting_for_its_retry_says_when_and_how_many_are_left(api):
    location = api.post("/async/tests-retry-later/order/", {"failures": 1, "after": 5}, format="json")["Location"]
    body = wait_for_retry(api, location)
    waiting = api.get(location)
    assert waiting.status_code == 202 and waiting["Retry-After"]
    assert body["status"] == "running" and body["attempts"] == 1
    assert body["retry"]["attempts_left"] == 2 and body["retry"]["max_attempts"] == 3
    assert "The upstream service is busy" in body["message"] and "retrying in 5 s" in body["message"]
    assert "Attempt 1 of 3 failed" in body["message"]
    order = Order.objects.get(pk=body["id"])
    due = order.available_at.timestamp()
    assert abs(due - (order.updated_at.timestamp() + 5)) < 1
    from rest_framework.fields import DateTimeField

    assert body["retry"]["due_at"] == DateTimeField().to_representation(order.available_at)
    final = wait_for_order(api, location, timeout=30)
    assert final.status_code == 201 and final.json()["attempts"] == 2
    assert time.time() >= due - 0.05, "the attempt never starts before it is due"


@pytest.mark.usefixtures("worker")
@pytest.mark.parametrize("resource, data, code, text", [
    ("tests-flaky", {"failures": 99}, "upstream_unavailable", "The job failed: the upstream service answered 503"),
    ("tests-flaky", {"failures": 99, "plain": True}, "job_failed", "The job failed"),
    ("tests-retry-later", {"failures": 99, "after": 0.2}, "upstream_busy", "The job failed: The upstream service is busy"),
])
def test_a_job_that_keeps_failing_ends_failed_after_max_attempts_with_the_last_error(api, resource, data, code, text):
    location = api.post(f"/async/{resource}/order/", data, format="json")["Location"]
    final = wait_for_order(api, location, timeout=60)
    body = final.json()
    attempts = get_resource(resource).get_max_attempts()
    assert final.status_code == 200 and body["status"] == "failed", body
    assert body["attempts"] == attempts
    assert body["error"] == {"code": code, "message": f"{text} (gave up after {attempts} attempts)"}
    assert "internal-detail" not in final.content.decode(), "an exception's own text never reaches the client"
    assert body["retry"] is None


@pytest.mark.usefixtures("worker")
def test_an_error_the_policy_does_not_name_fails_at_once(api):
    location = api.post("/async/tests-job-error/order/", {}, format="json")["Location"]
    body = wait_for_order(api, location).json()
    assert body["status"] == "failed" and body["attempts"] == 1
    assert "gave up" not in body["error"]["message"]


@pytest.mark.usefixtures("worker")
def test_cancelling_an_order_that_waits_for_its_retry_cancels_it_at_once(api, redis_url):
    location = api.post("/async/tests-retry-later/order/", {"failures": 1, "after": 30}, format="json")["Location"]
    body = wait_for_retry(api, location)
    job_id = Order.objects.get(pk=body["id"]).job_id
    assert job_id == f"{body['id']}-retry-1"
    queue = get_queue()
    assert job_id in ScheduledJobRegistry(queue=queue).get_job_ids(), "the next attempt is on RQ's schedule"

    cancelled = api.delete(location)
    assert cancelled.status_code == 200 and cancelled.json()["status"] == "cancelled"
    assert cancelled.json()["retry"] is None
    assert job_id not in ScheduledJobRegistry(queue=queue).get_job_ids()
    assert Job.fetch(job_id, connection=queue.connection).get_status() == "canceled"
    assert len(attempt_times(redis_url, body["id"])) == 1


@pytest.mark.usefixtures("worker")
def test_a_coalesced_order_is_retried_alone_and_the_others_of_its_batch_complete(api):
    locations = [api.post("/async/tests-coalesced-flaky/order/", {"value": value}, format="json")["Location"]
                 for value in (0, 1, 0)]
    finals = [wait_for_order(api, location, timeout=60).json() for location in locations]
    assert [final["status"] for final in finals] == ["completed"] * 3
    assert [final["attempts"] for final in finals] == [1, 2, 1]


@pytest.mark.usefixtures("worker")
def test_a_part_that_meets_a_transient_error_is_retried_alone(api):
    from asyncrest.models import Part

    location = api.post("/async/tests-fanout-flaky/order/", {"parts": 3, "size": 10, "fail_part": 1},
                        format="json")["Location"]
    final = wait_for_order(api, location, timeout=60)
    assert final.status_code == 201, final.json()
    assert final.json()["processed"] == 30
    attempts = list(Part.objects.filter(order_id=final.json()["id"]).order_by("index").values_list("attempts", flat=True))
    assert attempts == [1, 2, 1]


def test_a_retry_due_while_redis_is_down_happens_once_redis_is_back(api, tmp_path, settings):
    fault = Fault(tmp_path, settings)
    try:
        fault.start_worker()
        location = api.post("/async/tests-retry-later/order/", {"failures": 1, "after": 1}, format="json")["Location"]
        wait_for_retry(api, location)
        fault.redis.stop()  # the scheduled job goes with it: this Redis keeps nothing
        time.sleep(2)  # the attempt falls due while Redis is away
        assert api.get(location).json()["status"] == "running"
        fault.redis.start()
        final = wait_for_order(api, location, timeout=60)
        assert final.status_code == 201, final.json()
        assert final.json()["attempts"] == 2
    finally:
        fault.close()


def test_a_due_retry_is_delivered_by_the_reconciler_when_no_worker_runs_a_scheduler(api, tmp_path, settings):
    fault = Fault(tmp_path, settings)
    try:
        worker = fault.start_worker(scheduler=False)
        location = api.post("/async/tests-retry-later/order/", {"failures": 1, "after": 1}, format="json")["Location"]
        body = wait_for_retry(api, location)
        assert f"{body['id']}-retry-1" in ScheduledJobRegistry(queue=get_queue()).get_job_ids()
        final = wait_for_order(api, location, timeout=60)
        assert final.status_code == 201, final.json()
        assert final.json()["attempts"] == 2
        assert "is a worker running with --with-scheduler?" in worker.log_path.read_text()
    finally:
        fault.close()


def test_a_retried_order_is_never_claimed_before_it_is_due(user):
    from datetime import timedelta

    from django.utils import timezone

    from asyncrest import lifecycle

    order = Order.objects.create(owner=user, resource="tests-retry-later")
    assert lifecycle.claim(order.pk, "first")
    assert lifecycle.release(order.pk, "first", "waiting", timezone.now() + timedelta(seconds=30), job_id="x-retry-1")
    assert not lifecycle.claim(order.pk, "early"), "a duplicate delivery before the due time is refused"
    Order.objects.filter(pk=order.pk).update(available_at=timezone.now() - timedelta(seconds=1))
    assert lifecycle.claim(order.pk, "due")
    assert Order.objects.get(pk=order.pk).job_id == "x-retry-1"


@pytest.mark.django_db
def test_run_order_now_tries_again_at_once_while_attempts_are_left(user, redis_url):
    from asyncrest.testing import place_order, run_order_now

    order = run_order_now(place_order(user, "tests-flaky", {"failures": 2}))
    assert (order.status, order.attempts) == ("completed", 3)
    failing = place_order(user, "tests-flaky", {"failures": 9})
    with pytest.raises(Exception, match="the upstream service answered 503"):  # the last attempt's, as RQ records it
        run_order_now(failing)
    failed = Order.objects.get(pk=failing.pk)
    assert (failed.status, failed.attempts, failed.error_code) == ("failed", 4, "upstream_unavailable")
    waiting = run_order_now(place_order(user, "tests-flaky", {"failures": 1}), retries=False)
    assert (waiting.status, waiting.lease, waiting.attempts) == ("running", "", 1) and waiting.available_at


@pytest.mark.django_db
def test_run_order_now_retries_a_part_alone(user, redis_url):
    from asyncrest.models import Part
    from asyncrest.testing import place_order, run_order_now

    order = run_order_now(place_order(user, "tests-fanout-flaky", {"parts": 3, "size": 4, "fail_part": 2}))
    assert order.status == "completed", order.error_message
    assert list(Part.objects.filter(order=order).order_by("index").values_list("attempts", flat=True)) == [1, 1, 2]
