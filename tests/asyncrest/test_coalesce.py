"""Coalesced orders: many small orders of a resource run in one execution, each with its own outcome."""
import dataclasses

import pytest
import redis
from django.conf import settings
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rq import SimpleWorker

from asyncrest import lifecycle
from asyncrest.broker.dispatch import drain_flag
from asyncrest.broker.queues import get_queue
from asyncrest.models import Order
from asyncrest.registry import _registry
from asyncrest.worker.coalesce import run_drain
from asyncrest.worker.reconciler import reconcile
from tests import jobs
from tests.conftest import wait_for_order

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("redis_url")]


def place(user, resource, n, **values):
    return [lifecycle.place(Order(owner=user, resource=resource, coalesced=True, input={
        "value": i, "fail": False, "poison": False, "alone": False, **values}), enqueue=False) for i in range(n)]


class RoundTrips:
    """Counts the requests this process sends to Redis (a pipeline is one)."""

    def __init__(self, monkeypatch):
        self.count = 0
        original = redis.connection.AbstractConnection.send_packed_command

        def counted(conn, command, check_health=True):
            self.count += 1
            return original(conn, command, check_health)

        monkeypatch.setattr(redis.connection.AbstractConnection, "send_packed_command", counted)


def test_a_burst_runs_in_batches_and_each_order_keeps_its_own_outcome(user):
    orders = place(user, "tests-coalesced", 25)
    failing = place(user, "tests-coalesced", 1, fail=True)[0]
    assert run_drain("tests-coalesced") == 26
    rows = {o.pk: o for o in Order.objects.filter(pk__in=[o.pk for o in orders + [failing]])}
    assert {rows[o.pk].status for o in orders} == {"completed"}
    assert {rows[o.pk].resource_url for o in orders} == {f"/tests/results/{i}/" for i in range(25)}
    # Batches of at most 10 (coalesce=10), oldest first; each order's own attempt, usage and progress.
    assert sorted({rows[o.pk].usage["batch"] for o in orders}) == [6, 10]
    assert {rows[o.pk].attempts for o in orders} == {1}
    assert {(rows[o.pk].processed, rows[o.pk].total, rows[o.pk].progress) for o in orders} == {(1, 1, 100.0)}
    assert rows[failing.pk].status == "failed"
    assert rows[failing.pk].error == {"code": "asked_to_fail", "message": "The job failed: value 0 was asked to fail"}
    assert rows[failing.pk].usage == {"requests": 1, "batch": 6}
    assert len({rows[o.pk].lease for o in orders}) == 3


def test_when_many_raises_the_batch_runs_order_by_order_and_only_the_bad_order_fails(user):
    good = place(user, "tests-coalesced", 4)
    poisoned = place(user, "tests-coalesced", 1, poison=True)[0]
    run_drain("tests-coalesced")
    statuses = dict(Order.objects.values_list("id", "status"))
    assert {statuses[o.pk] for o in good} == {"completed"}
    assert statuses[poisoned.pk] == "failed"
    assert Order.objects.get(pk=good[0].pk).usage == {"requests": 1}  # the per-order job's, run alone


def test_without_many_each_order_runs_through_the_job(user):
    orders = place(user, "tests-coalesced-alone", 3) + place(user, "tests-coalesced-alone", 1, fail=True)
    run_drain("tests-coalesced-alone")
    assert [Order.objects.get(pk=o.pk).status for o in orders] == ["completed"] * 3 + ["failed"]


def test_a_cancel_asked_during_the_batch_wins_over_its_completion(user, monkeypatch):
    orders = place(user, "tests-coalesced", 3)

    def many_then_cancel(batch):
        lifecycle.request_cancel(orders[1].pk)
        return jobs.coalesced_many(batch)

    monkeypatch.setitem(_registry, "tests-coalesced", dataclasses.replace(_registry["tests-coalesced"],
                                                                          many=many_then_cancel))
    run_drain("tests-coalesced")
    assert [Order.objects.get(pk=o.pk).status for o in orders] == ["completed", "cancelled", "completed"]


def test_cancelled_and_finished_orders_are_not_claimed(user):
    waiting, cancelled, done = place(user, "tests-coalesced", 3)
    assert lifecycle.cancel_waiting(cancelled.pk)
    assert lifecycle.claim(done.pk, "another") and lifecycle.complete(done.pk, "/x/", lease="another")
    assert run_drain("tests-coalesced") == 1
    assert Order.objects.get(pk=waiting.pk).status == "completed"


def test_an_order_of_a_lost_batch_is_retried_by_the_reconciler(user, settings):
    (order,) = place(user, "tests-coalesced", 1)
    (row,) = lifecycle.claim_batch("tests-coalesced", "lost-lease", 10)  # a worker that died mid-batch
    Order.objects.filter(pk=order.pk).update(heartbeat_at=row["started_at"].replace(year=2000))
    assert reconcile().retried == 1
    Order.objects.filter(pk=order.pk).update(available_at=row["started_at"].replace(year=2000))
    assert run_drain("tests-coalesced") == 1
    order.refresh_from_db()
    assert (order.status, order.attempts) == ("completed", 2)


def test_a_drain_past_its_time_hands_the_rest_to_a_fresh_job(user, settings, redis_client):
    settings.ASYNCREST = {**settings.ASYNCREST, "DRAIN_SECONDS": 0}
    place(user, "tests-coalesced-private", 60)
    queue = get_queue(settings.PRIVATE_QUEUE)  # no session worker serves it
    queue.empty()
    assert run_drain("tests-coalesced-private") == 50
    assert queue.count == 1
    assert redis_client.exists(drain_flag("tests-coalesced-private", queue.name))
    queue.empty()
    redis_client.delete(drain_flag("tests-coalesced-private", queue.name))


def test_a_drain_queued_for_another_site_on_the_same_redis_holds_back_none_of_ours(api, redis_client):
    queue = get_queue(settings.PRIVATE_QUEUE)
    queue.empty()
    redis_client.set(drain_flag("tests-coalesced-private", "another-sites-queue"), b"1", ex=60)
    try:
        response = api.post("/async/tests-coalesced-private/order/", {"value": 1}, format="json")
        assert response.status_code == 202
        assert [job.func_name for job in queue.jobs] == ["asyncrest.worker.coalesce.drain"]
    finally:
        redis_client.delete(*(drain_flag("tests-coalesced-private", name) for name in ("another-sites-queue", queue.name)))
        queue.empty()


def test_a_drain_that_fails_outright_is_run_again_and_its_orders_complete(api, monkeypatch):
    """A drain that cannot claim (its database away for a moment) is retried by RQ, not left failed."""
    from django.db import OperationalError

    queue = get_queue(settings.PRIVATE_QUEUE)
    queue.empty()
    urls = [api.post("/async/tests-coalesced-private/order/", {"value": i}, format="json")["Location"] for i in range(3)]
    claim, failures = lifecycle.claim_batch, []

    def claim_failing_twice(*args):
        if len(failures) < 2:
            failures.append(1)
            raise OperationalError("database is locked")
        return claim(*args)

    monkeypatch.setattr(lifecycle, "claim_batch", claim_failing_twice)
    SimpleWorker([queue], connection=queue.connection).work(burst=True, with_scheduler=False)
    assert len(failures) == 2
    assert [api.get(url).json()["status"] for url in urls] == ["completed"] * 3
    assert queue.count == 0


def test_the_budget_per_order_of_a_burst_sql_and_redis_with_rqs_own_protocol(user, api, monkeypatch):
    """Per one order of a burst of 100: at most 6 SQL statements and 8 Redis round trips, web and worker together."""
    queue = get_queue(settings.PRIVATE_QUEUE)
    queue.empty()
    trips = RoundTrips(monkeypatch)
    with CaptureQueriesContext(connection) as web_sql:
        for i in range(100):
            response = api.post("/async/tests-coalesced-private/order/", {"value": i}, format="json")
            assert response.status_code == 202, response.data
    web_trips = trips.count
    assert queue.count == 1  # one drain job for the burst
    worker = SimpleWorker([queue], connection=queue.connection)
    trips.count = 0
    with CaptureQueriesContext(connection) as worker_sql:
        worker.work(burst=True, with_scheduler=False)
    worker_trips = trips.count
    assert Order.objects.filter(resource="tests-coalesced-private", status="completed").count() == 100
    per_order = {"web sql": len(web_sql) / 100, "worker sql": len(worker_sql) / 100,
                 "web redis": web_trips / 100, "worker redis": worker_trips / 100}
    print(per_order)
    # The web side: the INSERT (and the token lookup, once: CachedTokenAuthentication); one SET for the drain's flag.
    assert per_order["web sql"] <= 1.05
    assert per_order["web redis"] <= 1.1
    assert per_order["worker sql"] + per_order["web sql"] <= 6
    assert per_order["worker redis"] + per_order["web redis"] <= 8
    # And the batch itself: claim (read + write), complete, whatever its size.
    assert len(worker_sql) <= 20


def test_coalesced_orders_run_on_a_real_worker_and_answer_like_any_order(api, worker):
    urls = [api.post("/async/tests-coalesced/order/", {"value": i}, format="json")["Location"] for i in range(12)]
    alone = api.post("/async/tests-coalesced/order/", {"value": 99, "alone": True}, format="json")["Location"]
    for i, url in enumerate(urls):
        body = wait_for_order(api, url).json()
        assert body["status"] == "completed" and body["resource_url"].endswith(f"/tests/results/{i}/"), body
    assert wait_for_order(api, alone).json()["status"] == "completed"
    assert not Order.objects.get(pk=alone.rstrip("/").rsplit("/", 1)[1]).coalesced


def test_with_coalesce_off_every_order_runs_alone(api, settings):
    settings.ASYNCREST = {**settings.ASYNCREST, "COALESCE": False}
    queue = get_queue(settings.PRIVATE_QUEUE)
    queue.empty()
    ids = [api.post("/async/tests-coalesced-private/order/", {"value": i}, format="json").json()["id"]
           for i in range(3)]
    assert not Order.objects.filter(pk__in=ids, coalesced=True).exists()
    assert sorted(job.id for job in queue.jobs) == sorted(ids), "a job of its own each"
    queue.empty()


def test_a_drain_lost_with_its_queue_holds_back_new_orders_for_queued_grace_at_most(api, settings):
    """The queue emptied by hand while its drain's flag stands: the flag expires, the next order brings a drain."""
    import time

    settings.ASYNCREST = {**settings.ASYNCREST, "QUEUED_GRACE": 1}
    queue = get_queue(settings.PRIVATE_QUEUE)
    queue.empty()
    place = lambda i: api.post("/async/tests-coalesced-private/order/", {"value": i}, format="json")["Location"]  # noqa: E731
    urls = [place(0)]
    assert queue.count == 1
    queue.empty()  # the drain is lost; its flag stands
    urls.append(place(1))
    assert queue.count == 0, "a drain seems to be queued"
    time.sleep(1.2)
    urls.append(place(2))
    assert queue.count == 1, "the flag expired: this order queued a drain"
    SimpleWorker([queue], connection=queue.connection).work(burst=True, with_scheduler=False)
    assert [api.get(url).json()["status"] for url in urls] == ["completed"] * 3


def test_an_order_placed_while_a_drain_pauses_is_taken_by_that_drain(api, user, monkeypatch, settings):
    """The drain holds the flag while it runs: the new order queues no job, and the next claim takes it."""
    from asyncrest.worker import coalesce

    queue = get_queue(settings.PRIVATE_QUEUE)
    queue.empty()
    place(user, "tests-coalesced-private", 2)
    arrived = []

    def an_order_arrives(seconds):
        if not arrived:
            arrived.append(api.post("/async/tests-coalesced-private/order/", {"value": 7}, format="json")["Location"])

    monkeypatch.setattr(coalesce.time, "sleep", an_order_arrives)
    assert run_drain("tests-coalesced-private") == 3
    assert queue.count == 0, "the order placed during the pause queued no drain"
    assert api.get(arrived[0]).json()["status"] == "completed"


def test_with_no_linger_a_drain_never_pauses_and_ends_after_two_empty_claims(user, settings, monkeypatch):
    from asyncrest.worker import coalesce

    settings.ASYNCREST = {**settings.ASYNCREST, "DRAIN_LINGER": 0}
    monkeypatch.setattr(coalesce.time, "sleep", lambda seconds: pytest.fail("no pause"))
    place(user, "tests-coalesced-private", 2)
    with CaptureQueriesContext(connection) as queries:
        assert run_drain("tests-coalesced-private") == 2
    # One claim with rows; one without; the last one, after the flag is released.
    assert len([q for q in queries if q["sql"].startswith("SELECT")]) == 3


def test_an_order_that_found_the_flag_of_a_running_drain_is_claimed_by_its_last_claim(api, user, monkeypatch, settings):
    """The race the release protects: the order commits while the drain holds the flag, just before it lets go."""
    queue = get_queue(settings.PRIVATE_QUEUE)
    queue.empty()
    place(user, "tests-coalesced-private", 1)
    claim, claims, late = lifecycle.claim_batch, [], []

    def claim_then_an_order_arrives(*args):
        claims.append(1)
        found = claim(*args)
        if len(claims) == 2:  # the drain found none, and still holds the flag: an order comes now
            late.append(api.post("/async/tests-coalesced-private/order/", {"value": 9}, format="json")["Location"])
        return found

    monkeypatch.setattr(lifecycle, "claim_batch", claim_then_an_order_arrives)
    assert run_drain("tests-coalesced-private") == 2
    assert queue.count == 0, "it found the flag set and queued no drain"
    assert api.get(late[0]).json()["status"] == "completed"
