"""Order transitions are conditional: a status never goes backwards, a finished order never changes."""
import pytest

from asyncrest.models import Order

pytestmark = pytest.mark.django_db


@pytest.fixture
def order(user):
    return Order.objects.create(owner=user, resource="tests-sleep")


def status(order):
    order.refresh_from_db()
    return order.status


def test_queued_order_is_claimed_once(order):
    assert Order.objects.claim(order.pk, "lease-1")
    assert not Order.objects.claim(order.pk, "lease-2")
    order.refresh_from_db()
    assert order.status == "running" and order.attempts == 1 and order.started_at is not None
    assert order.lease == "lease-1" and order.heartbeat_at is not None


def test_writes_need_the_lease_of_the_execution(order):
    Order.objects.claim(order.pk, "lease-1")
    assert not Order.objects.report_progress(order.pk, 1, 2, lease="lease-2")
    assert not Order.objects.heartbeat(order.pk, "lease-2")
    assert not Order.objects.complete(order.pk, "/x/", lease="lease-2")
    assert not Order.objects.fail(order.pk, "boom", "Boom.", lease="lease-2")
    assert Order.objects.heartbeat(order.pk, "lease-1")
    assert Order.objects.complete(order.pk, "/x/", lease="lease-1")


def test_a_released_order_stays_running_and_is_claimed_again(order):
    Order.objects.claim(order.pk, "lease-1")
    assert Order.objects.release(order.pk, "lease-1", "Retrying")
    order.refresh_from_db()
    assert (order.status, order.lease, order.message) == ("running", "", "Retrying")
    # The lost execution can no longer write; the next one can.
    assert not Order.objects.report_progress(order.pk, 1, 2, lease="lease-1")
    assert Order.objects.claim(order.pk, "lease-2")
    order.refresh_from_db()
    assert (order.status, order.lease, order.attempts) == ("running", "lease-2", 2)


def test_cancel_request_stops_progress_and_blocks_claims(order):
    Order.objects.claim(order.pk, "lease-1")
    assert Order.objects.request_cancel(order.pk)
    assert not Order.objects.report_progress(order.pk, 1, 2, lease="lease-1")
    assert status(order) == "running"
    assert Order.objects.cancel(order.pk, lease="lease-1")
    assert status(order) == "cancelled"


def test_completion_needs_a_running_order(order):
    assert not Order.objects.complete(order.pk, "/x/")
    assert status(order) == "queued"
    Order.objects.claim(order.pk, "lease-1")
    assert Order.objects.complete(order.pk, "/x/")
    assert status(order) == "completed"


@pytest.mark.parametrize("finish", ["complete", "fail", "cancel"])
def test_finished_orders_never_change(order, finish):
    Order.objects.claim(order.pk, "lease-1")
    {
        "complete": lambda: Order.objects.complete(order.pk, "/x/"),
        "fail": lambda: Order.objects.fail(order.pk, "boom", "Boom."),
        "cancel": lambda: Order.objects.cancel(order.pk),
    }[finish]()
    final = status(order)
    assert not Order.objects.claim(order.pk, "lease-2")
    assert not Order.objects.complete(order.pk, "/y/")
    assert not Order.objects.fail(order.pk, "late", "Late.")
    assert not Order.objects.cancel(order.pk)
    assert not Order.objects.report_progress(order.pk, 5, 10)
    assert status(order) == final


def test_progress_is_recorded_only_while_running(order):
    assert not Order.objects.report_progress(order.pk, 1, 4)
    Order.objects.claim(order.pk, "lease-1")
    assert Order.objects.report_progress(order.pk, 1, 4, "Working")
    order.refresh_from_db()
    assert (order.processed, order.total, order.progress, order.message) == (1, 4, 25.0, "Working")


def test_usage_counts_add_up(order):
    Order.objects.add_usage(order.pk, {"requests": 2, "prompt_tokens": 100})
    Order.objects.add_usage(order.pk, {"requests": 1, "completion_tokens": 7})
    order.refresh_from_db()
    assert order.usage == {"requests": 3, "prompt_tokens": 100, "completion_tokens": 7}
