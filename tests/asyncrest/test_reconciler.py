"""One reconciler pass at a time, on orders put into each fault state by hand."""
from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import call_command
from django.utils import timezone

from asyncrest import lifecycle
from asyncrest.broker.queues import get_queue
from asyncrest.models import Order
from asyncrest.worker.reconciler import LOCK_KEY, reconcile, reconcile_if_due

pytestmark = pytest.mark.django_db


@pytest.fixture
def queue(redis_client):
    queue = get_queue()
    queue.empty()
    redis_client.delete(LOCK_KEY)
    yield queue
    queue.empty()


def make_order(user, resource="tests-sleep", **fields):
    order = Order.objects.create(owner=user, resource=resource, input={"items": 1, "delay": 0})
    Order.objects.filter(pk=order.pk).update(job_id=str(order.pk), **fields)
    return Order.objects.get(pk=order.pk)


def test_running_order_past_its_timeout_fails_with_timeout(user, queue):
    order = make_order(user)
    lifecycle.claim(order.pk, "lease-1")
    Order.objects.filter(pk=order.pk).update(started_at=timezone.now() - timedelta(seconds=60 + 5))
    assert reconcile().timed_out == 1
    order.refresh_from_db()
    assert order.status == "failed"
    assert order.error == {"code": "timeout", "message": "The job ran past its time limit of 60 s and was stopped."}


def test_running_order_within_its_timeout_is_left_alone(user, queue):
    order = make_order(user)
    lifecycle.claim(order.pk, "lease-1")
    assert not reconcile().changed
    assert Order.objects.get(pk=order.pk).status == "running"


def test_lost_order_is_handed_back_and_redelivered_after_its_backoff(user, queue):
    order = make_order(user)
    lifecycle.claim(order.pk, "lease-1")
    Order.objects.filter(pk=order.pk).update(heartbeat_at=timezone.now() - timedelta(seconds=10))
    assert reconcile().retried == 1
    order.refresh_from_db()
    assert (order.status, order.lease, order.attempts) == ("running", "", 1)
    assert "retrying (attempt 2 of 3)" in order.message
    assert order.available_at > timezone.now()
    assert queue.count == 0, "not before the backoff has passed"

    Order.objects.filter(pk=order.pk).update(available_at=timezone.now() - timedelta(seconds=1))
    assert reconcile().enqueued == 1
    assert queue.job_ids == [str(order.pk)]
    assert reconcile().enqueued == 0, "a job waiting in the queue is not enqueued twice"


def test_queued_order_without_a_job_is_enqueued_after_the_grace_period(user, queue):
    make_order(user)  # fresh: within QUEUED_GRACE
    stranded = make_order(user, created_at=timezone.now() - timedelta(seconds=30))
    report = reconcile()
    assert report.enqueued == 1
    assert queue.job_ids == [str(stranded.pk)], "a fresh order still has its own enqueue on the way"


def test_reconcile_if_due_runs_once_per_interval(user, queue):
    make_order(user, created_at=timezone.now() - timedelta(seconds=30))
    assert reconcile_if_due().enqueued == 1
    assert reconcile_if_due() is None


def test_reconcile_command_prints_its_report(user, queue):
    make_order(user, created_at=timezone.now() - timedelta(seconds=30))
    out = StringIO()
    call_command("reconcile", stdout=out)
    assert out.getvalue().strip() == "Reconciled: enqueued=1, retried=0, lost=0, timed_out=0, cancelled=0, purged=0"
