"""Order transitions are conditional: a status never goes backwards, a finished order never changes."""
import pytest

from asyncrest import lifecycle
from asyncrest.models import Order

pytestmark = pytest.mark.django_db


@pytest.fixture
def order(user):
    return Order.objects.create(owner=user, resource="tests-sleep")


def status(order):
    order.refresh_from_db()
    return order.status


def test_queued_order_is_claimed_once(order):
    assert lifecycle.claim(order.pk, "lease-1")
    assert not lifecycle.claim(order.pk, "lease-2")
    order.refresh_from_db()
    assert order.status == "running" and order.attempts == 1 and order.started_at is not None
    assert order.lease == "lease-1" and order.heartbeat_at is not None


def test_writes_need_the_lease_of_the_execution(order):
    lifecycle.claim(order.pk, "lease-1")
    assert not lifecycle.report_progress(order.pk, 1, 2, lease="lease-2")
    assert not lifecycle.heartbeat(order.pk, "lease-2")
    assert not lifecycle.complete(order.pk, "/x/", lease="lease-2")
    assert not lifecycle.fail(order.pk, "boom", "Boom.", lease="lease-2")
    assert lifecycle.heartbeat(order.pk, "lease-1")
    assert lifecycle.complete(order.pk, "/x/", lease="lease-1")


def test_a_released_order_stays_running_and_is_claimed_again(order):
    lifecycle.claim(order.pk, "lease-1")
    assert lifecycle.release(order.pk, "lease-1", "Retrying")
    order.refresh_from_db()
    assert (order.status, order.lease, order.message) == ("running", "", "Retrying")
    # The lost execution can no longer write; the next one can.
    assert not lifecycle.report_progress(order.pk, 1, 2, lease="lease-1")
    assert lifecycle.claim(order.pk, "lease-2")
    order.refresh_from_db()
    assert (order.status, order.lease, order.attempts) == ("running", "lease-2", 2)


def test_cancel_request_stops_progress_and_blocks_claims(order):
    lifecycle.claim(order.pk, "lease-1")
    assert lifecycle.request_cancel(order.pk)
    assert not lifecycle.report_progress(order.pk, 1, 2, lease="lease-1")
    assert status(order) == "running"
    assert lifecycle.cancel(order.pk, lease="lease-1")
    assert status(order) == "cancelled"


def test_completion_needs_a_running_order(order):
    assert not lifecycle.complete(order.pk, "/x/")
    assert status(order) == "queued"
    lifecycle.claim(order.pk, "lease-1")
    assert lifecycle.complete(order.pk, "/x/")
    assert status(order) == "completed"


@pytest.mark.parametrize("finish", ["complete", "fail", "cancel"])
def test_finished_orders_never_change(order, finish):
    lifecycle.claim(order.pk, "lease-1")
    {
        "complete": lambda: lifecycle.complete(order.pk, "/x/"),
        "fail": lambda: lifecycle.fail(order.pk, "boom", "Boom."),
        "cancel": lambda: lifecycle.cancel(order.pk),
    }[finish]()
    final = status(order)
    assert not lifecycle.claim(order.pk, "lease-2")
    assert not lifecycle.complete(order.pk, "/y/")
    assert not lifecycle.fail(order.pk, "late", "Late.")
    assert not lifecycle.cancel(order.pk)
    assert not lifecycle.report_progress(order.pk, 5, 10)
    assert status(order) == final


def test_progress_is_recorded_only_while_running(order):
    assert not lifecycle.report_progress(order.pk, 1, 4)
    lifecycle.claim(order.pk, "lease-1")
    assert lifecycle.report_progress(order.pk, 1, 4, "Working")
    order.refresh_from_db()
    assert (order.processed, order.total, order.progress, order.message) == (1, 4, 25.0, "Working")


def test_usage_counts_add_up(order):
    lifecycle.add_usage(order.pk, {"requests": 2, "prompt_tokens": 100})
    lifecycle.add_usage(order.pk, {"requests": 1, "completion_tokens": 7})
    order.refresh_from_db()
    assert order.usage == {"requests": 3, "prompt_tokens": 100, "completion_tokens": 7}
