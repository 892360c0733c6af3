"""Retention: finished orders are purged after their resource's retention, leaving tombstones
that answer 410 Gone; pending orders are never purged; the purge goes in short batches."""
import threading
import time
import uuid
from datetime import timedelta

import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.core.management import call_command
from django.db import connection
from django.utils import timezone

from asyncrest.models import Order, Part, PurgedOrder
from asyncrest.worker.reconciler import reconcile
from asyncrest.worker.retention import purge

pytestmark = pytest.mark.django_db(transaction=True)

DAY = timedelta(days=1)


def make(user, status="completed", *, age=8 * DAY, resource="tests-sleep", **fields) -> Order:
    """An order that finished (or, pending, was placed) `age` ago."""
    when = timezone.now() - age
    finished = status in ("completed", "failed", "cancelled")
    return Order.objects.create(owner=user, resource=resource, status=status, created_at=when, updated_at=when,
                                finished_at=when if finished else None, **fields)


def test_expired_orders_answer_410_and_unknown_ones_404_and_pending_ones_stay(api, other_api, user):
    expired = [make(user, status) for status in ("completed", "failed", "cancelled")]
    recent = make(user, age=6 * DAY)
    pending = [make(user, "queued", age=60 * DAY), make(user, "running", age=60 * DAY, lease="held")]
    Part.objects.create(order=expired[0], index=0, func="tests.jobs.fanned_part", then="tests.jobs.fanned_done")

    done = purge()

    assert done.orders == 3
    assert set(Order.objects.values_list("pk", flat=True)) == {recent.pk, *(order.pk for order in pending)}
    assert not Part.objects.exists(), "the parts go with their order"
    for order in expired:
        response = api.get(f"/async/orders/{order.pk}/")
        assert response.status_code == 410, response.json()
        body = response.json()
        assert body["id"] == str(order.pk) and body["status"] == order.status and body["resource"] == "tests-sleep"
        assert "deleted once its retention had passed" in body["detail"]
        assert body["finished_at"] and body["purged_at"]
        assert api.delete(f"/async/orders/{order.pk}/").status_code == 410
        assert api.post(f"/async/orders/{order.pk}/retry/").status_code == 410
        assert other_api.get(f"/async/orders/{order.pk}/").status_code == 404, "not yours: never existed"
    assert api.get(f"/async/orders/{uuid.uuid4()}/").status_code == 404
    assert api.get(f"/async/orders/{recent.pk}/").status_code == 201
    assert {order["id"] for order in api.get("/async/orders/").json()["results"]} == {
        str(recent.pk), *(str(order.pk) for order in pending)
    }


def test_an_idempotency_key_expires_with_its_order(api, user):
    first = api.post("/async/tests-sleep/order/", {"items": 1, "delay": 0}, format="json", HTTP_IDEMPOTENCY_KEY="k-1")
    Order.objects.filter(pk=first.json()["id"]).update(status="completed", finished_at=timezone.now() - 8 * DAY)
    assert purge().orders == 1
    again = api.post("/async/tests-sleep/order/", {"items": 1, "delay": 0}, format="json", HTTP_IDEMPOTENCY_KEY="k-1")
    assert again.status_code == 202 and again.json()["id"] != first.json()["id"]
    assert "Idempotent-Replayed" not in again


def test_tombstones_expire_after_their_own_retention(api, user):
    order = make(user)
    purge()
    PurgedOrder.objects.filter(pk=order.pk).update(purged_at=timezone.now() - 31 * DAY)
    assert purge().tombstones_expired == 1
    assert api.get(f"/async/orders/{order.pk}/").status_code == 404


def test_a_resource_keeps_its_orders_as_long_as_it_says(user, settings):
    short = make(user, resource="tests-short-lived", age=timedelta(minutes=2))
    kept = make(user, age=2 * DAY)
    assert purge().orders == 1
    assert not Order.objects.filter(pk=short.pk).exists() and Order.objects.filter(pk=kept.pk).exists()
    settings.ASYNCREST = {**settings.ASYNCREST, "RETENTION": None}
    old = make(user, age=400 * DAY)
    assert purge().orders == 0 and Order.objects.filter(pk=old.pk).exists(), "None: kept forever"


def test_orders_of_a_resource_no_longer_registered_follow_the_default(user):
    gone = make(user, resource="retired-resource")
    assert purge().orders == 1 and not Order.objects.filter(pk=gone.pk).exists()


def test_a_purged_tagging_order_leaves_its_logs_and_returns_its_uploads_space(api, user):
    from tagging.models import Batch, Log
    from tagging.uploads import upload_path

    order = make(user, resource="tagging", input={"entries": ["a", "b"]})
    batch = Batch.objects.create(owner=user, order=order)
    logs = [Log.objects.create(owner=user, entry=text, batch=batch, order=order, position=i) for i, text in
            enumerate(["wrote Go", "tuned Redis"])]
    path = default_storage.save(upload_path(order.pk), ContentFile(b"entry\n" + b"x" * 100_000))
    assert default_storage.exists(path)

    assert purge().orders == 1
    assert not default_storage.exists(path), "a leftover upload is deleted with its order"
    assert Log.objects.filter(pk__in=[log.pk for log in logs], order__isnull=True, batch=batch).count() == 2
    assert Batch.objects.get(pk=batch.pk).order_id is None
    assert api.get(f"/tagging/logs/{logs[0].pk}/").status_code == 200, "the user's logs are theirs to keep"


def test_a_retry_outlives_the_order_it_retried(user):
    original = make(user, "failed")
    retry = make(user, "completed", age=DAY, retry_of=original)
    assert purge().orders == 1
    assert Order.objects.get(pk=retry.pk).retry_of_id is None


def test_the_reconciler_purges_a_bounded_number_of_batches_per_pass(user, settings):
    settings.ASYNCREST = {**settings.ASYNCREST, "PURGE_BATCH": 10, "PURGE_BATCHES_PER_PASS": 2}
    Order.objects.bulk_create([Order(owner=user, resource="tests-sleep", status="completed",
                                     finished_at=timezone.now() - 8 * DAY) for _ in range(50)])
    assert reconcile().purged == 20
    assert Order.objects.count() == 30
    assert reconcile().purged == 20 and reconcile().purged == 10 and reconcile().purged == 0


def test_the_purge_command_counts_then_deletes(user, capsys):
    for _ in range(3):
        make(user)
    call_command("purge", "--dry-run")
    assert "3 finished orders are past their retention; nothing was deleted" in capsys.readouterr().out
    assert Order.objects.count() == 3
    call_command("purge", "--batch-size", "2")
    assert "3 orders purged in 2 batches" in capsys.readouterr().out
    assert not Order.objects.exists() and PurgedOrder.objects.count() == 3


def test_100000_expired_orders_are_purged_in_short_batches_while_orders_are_placed_and_polled(api, user):
    when = timezone.now() - 8 * DAY
    Order.objects.bulk_create(
        [Order(owner=user, resource="tests-sleep", status="completed", created_at=when, finished_at=when)
         for _ in range(100_000)],
        batch_size=5000,
    )
    statements: list[tuple[float, str]] = []
    outcome = {}

    def timed(execute, sql, params, many, context):
        started = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            statements.append((time.perf_counter() - started, sql.split(" ", 1)[0], sql[:160]))

    def run():
        try:
            with connection.execute_wrapper(timed):
                outcome["purged"] = purge()
        finally:
            connection.close()

    purger = threading.Thread(target=run)
    started = time.perf_counter()
    purger.start()
    answers, slowest = [], 0.0
    while purger.is_alive():
        began = time.perf_counter()
        placed = api.post("/async/tests-sleep/order/", {"items": 1, "delay": 0}, format="json")
        polled = api.get(placed["Location"])
        slowest = max(slowest, time.perf_counter() - began)
        answers.append((placed.status_code, polled.status_code))
    purger.join()
    took = time.perf_counter() - started

    assert outcome["purged"].orders == 100_000
    assert outcome["purged"].batches == 200
    # Each placed and polled (the session's worker may already have completed it: 201).
    assert answers and all(placed == 202 and polled in (201, 202) for placed, polled in answers)
    longest = max(statements)[:2]
    deletes = [seconds for seconds, verb, _ in statements if verb == "DELETE"]
    print(f"\npurged 100,000 orders in {took:.1f} s, 200 batches, {len(statements):,} statements; "
          f"longest statement {longest[0] * 1000:.1f} ms ({longest[1]}), median DELETE "
          f"{sorted(deletes)[len(deletes) // 2] * 1000:.1f} ms; meanwhile {len(answers)} orders placed and polled, "
          f"the slowest pair in {slowest * 1000:.0f} ms")
    # A batch is a bounded number of statements of at most 500 rows each: its ids, the rows, the tombstones,
    # the parts, deliveries and links that go with them, the orders (SQLite splits the INSERT and
    # Django the DELETE of the orders in hundreds: 19 statements a batch there, fewer on PostgreSQL).
    assert len(statements) <= 200 * 20 + 5
    assert PurgedOrder.objects.count() == 100_000


@pytest.mark.parametrize("name, value, check_id", [
    ("RETENTION", 0, "asyncrest.E006"), ("RETENTION", "7d", "asyncrest.E006"), ("RETENTION", True, "asyncrest.E006"),
    ("TOMBSTONE_RETENTION", -1, "asyncrest.E006"), ("PURGE_BATCH", 0, "asyncrest.E007"),
    ("PURGE_BATCHES_PER_PASS", 1.5, "asyncrest.E007"),
])
def test_bad_retention_settings_are_system_check_errors_with_hints(settings, name, value, check_id):
    from asyncrest.checks import check_retention

    settings.ASYNCREST = {**settings.ASYNCREST, name: value}
    [error] = check_retention(None)
    assert error.id == check_id and name in error.msg and repr(value) in error.msg and error.hint


def test_keeping_orders_forever_is_no_error(settings):
    from asyncrest.checks import check_retention

    settings.ASYNCREST = {**settings.ASYNCREST, "RETENTION": None, "TOMBSTONE_RETENTION": None}
    assert check_retention(None) == []


@pytest.mark.parametrize("bad", [0, -5, "1d", True])
def test_a_resource_refuses_a_retention_that_is_not_seconds(bad):
    from django.core.exceptions import ImproperlyConfigured

    from asyncrest import register

    with pytest.raises(ImproperlyConfigured, match="retention="):
        register("tests-bad-retention", retention=bad)
