"""The lifecycle is the one writer of status: progress only goes up, stale runs change nothing, every move is announced."""
import pytest
from django.utils import timezone

from asyncrest import lifecycle
from asyncrest.models import FANOUT_LEASE, Order, Part
from asyncrest.signals import order_changed, order_finished
from asyncrest.worker.context import RunningOrder, RunningPart
from asyncrest.worker.fanout import fan_out, start_parts
from asyncrest.worker.progress import ProgressItems
from tests.jobs import fanned_done, fanned_part

pytestmark = pytest.mark.django_db


@pytest.fixture
def fanned(user):
    """An order fanned out into one part of 20 units, claimed by a first run with lease "run-a"."""
    order = lifecycle.place(Order(owner=user, resource="tests-fanout", input={}), enqueue=False)
    lifecycle.claim(order.pk, "job-lease")
    running = RunningOrder.from_row(Order.objects.get(pk=order.pk), "job-lease")
    start_parts(running, fan_out(running, [{"size": 20}], part=fanned_part, then=fanned_done, totals=[20]))
    part = Part.objects.get(order=order)
    assert lifecycle.claim_part(part.pk, "run-a")
    return order, part


def processed(order) -> tuple[int, float]:
    order.refresh_from_db()
    return order.processed, order.progress


def test_a_retried_part_never_pulls_the_order_back(fanned):
    order, part = fanned
    assert lifecycle.report_part_progress(part.pk, "run-a", 10, 20)
    assert processed(order) == (10, 50.0)
    # The first run is presumed dead; a second run starts the part over.
    assert lifecycle.release_part(part.pk, "run-a", available_at=None)
    assert lifecycle.claim_part(part.pk, "run-b")
    assert lifecycle.report_part_progress(part.pk, "run-b", 3, 20)
    assert processed(order) == (10, 50.0)  # was 3 (and 15.0) before the fix
    assert lifecycle.report_part_progress(part.pk, "run-b", 12, 20)
    assert processed(order) == (12, 60.0)
    part.refresh_from_db()
    assert part.processed == 12


def test_a_run_presumed_dead_changes_nothing(fanned):
    order, part = fanned
    assert lifecycle.report_part_progress(part.pk, "run-a", 5, 20)
    assert lifecycle.release_part(part.pk, "run-a", available_at=None)
    assert lifecycle.claim_part(part.pk, "run-b")
    # The old run wakes up and reports: refused, and neither the part nor the order moves.
    assert not lifecycle.report_part_progress(part.pk, "run-a", 8, 20, "stale")
    assert processed(order) == (5, 25.0)  # was 8 before the fix: the order's write was fenced by the fan-out lease only
    order.refresh_from_db()
    assert order.message != "stale"
    part.refresh_from_db()
    assert (part.processed, part.lease) == (5, "run-b")


def test_a_stale_run_is_told_to_stop_through_progress_items(fanned):
    order, part = fanned
    stale = RunningPart.from_row(Part.objects.get(pk=part.pk), "run-a")
    assert lifecycle.release_part(part.pk, "run-a", available_at=None)
    assert lifecycle.claim_part(part.pk, "run-b")
    from asyncrest import OrderCancelled

    with pytest.raises(OrderCancelled), ProgressItems(stale, range(20), interval=0) as items:
        for _ in items:
            pass
    assert processed(order) == (0, 0.0)


def test_a_retried_order_shows_the_furthest_point_until_it_passes_it(user):
    order = lifecycle.place(Order(owner=user, resource="tests-sleep", input={}), enqueue=False)
    assert lifecycle.claim(order.pk, "first")
    assert lifecycle.report_progress(order.pk, 6, 10, lease="first")
    assert lifecycle.release(order.pk, "first", "retrying")
    assert lifecycle.claim(order.pk, "second")
    assert lifecycle.report_progress(order.pk, 2, 10, lease="second")
    assert processed(order) == (6, 60.0)
    assert lifecycle.report_progress(order.pk, 7, 10, lease="second")
    assert processed(order) == (7, 70.0)


def test_an_indeterminate_phase_counts_in_the_message_and_leaves_the_counts(user):
    order = lifecycle.place(Order(owner=user, resource="tests-sleep", input={}), enqueue=False)
    lifecycle.claim(order.pk, "lease")
    running = RunningOrder.from_row(Order.objects.get(pk=order.pk), "lease")
    with ProgressItems(running, [[1, 2], [3]], weight=len, message="Reading", indeterminate=True,
                       unit="rows read", interval=0) as chunks:
        for _ in chunks:
            pass
    order.refresh_from_db()
    assert (order.message, order.processed, order.total, order.progress) == ("Reading: 3 rows read", 0, None, 0.0)


def test_a_settled_cancel_needs_a_cancel_request(fanned):
    order, part = fanned
    assert lifecycle.release_part(part.pk, "run-a", available_at=None)
    assert not lifecycle.cancel_parts(order.pk)  # nobody asked: a stale run stopping must not cancel the order
    order.refresh_from_db()
    assert (order.status, order.lease) == ("running", FANOUT_LEASE)
    assert lifecycle.request_cancel(order.pk)
    assert lifecycle.cancel_parts(order.pk)
    order.refresh_from_db()
    part.refresh_from_db()
    assert (order.status, part.status) == ("cancelled", "cancelled")


def test_every_visible_move_is_announced_after_commit_and_every_finish_once(user, django_capture_on_commit_callbacks):
    changed, finished = [], []

    def on_change(sender, order_id, status, **kwargs):
        changed.append(status)

    def on_finish(sender, order_id, status, **kwargs):
        finished.append(status)

    order_changed.connect(on_change)
    order_finished.connect(on_finish)
    try:
        with django_capture_on_commit_callbacks(execute=True):
            order = lifecycle.place(Order(owner=user, resource="tests-sleep", input={}), enqueue=False)
            lifecycle.claim(order.pk, "lease")
            assert changed == []  # not before the commit
            lifecycle.report_progress(order.pk, 1, 2, "one", lease="lease")
            lifecycle.report_message(order.pk, "reading", lease="lease")
            lifecycle.heartbeat(order.pk, "lease")  # invisible: not announced
            lifecycle.add_usage(order.pk, {"requests": 1})  # invisible: not announced
            lifecycle.request_cancel(order.pk)
            lifecycle.cancel(order.pk, lease="lease")
            lifecycle.fail(order.pk, "late", "too late")  # already finished: no move, no news
        assert changed == ["queued", "running", "running", "running", "running", "cancelled"]
        assert finished == ["cancelled"]
    finally:
        order_changed.disconnect(on_change)
        order_finished.disconnect(on_finish)


def test_an_infrastructure_fault_hands_the_order_back_until_its_last_attempt(user):
    from redis.exceptions import ConnectionError

    from asyncrest.worker.runner import execute

    order = lifecycle.place(Order(owner=user, resource="tests-redis-gone", input={}), enqueue=False)
    with pytest.raises(ConnectionError):
        execute(order.pk)
    order.refresh_from_db()
    assert (order.status, order.lease, order.attempts, order.error_code) == ("running", "", 1, "")
    assert order.message.startswith("Interrupted: ConnectionError") and order.available_at
    assert execute(order.pk) is None, "not claimed before its backoff is over"
    Order.objects.filter(pk=order.pk).update(available_at=timezone.now())
    with pytest.raises(ConnectionError):
        execute(order.pk)  # the second and last attempt: the order fails, and says why
    order.refresh_from_db()
    assert (order.status, order.attempts, order.error_code) == ("failed", 2, "report_failed")
