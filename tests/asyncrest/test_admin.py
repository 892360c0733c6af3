"""The order admin: filters, errors and parts on its pages; cancel and retry actions that never move a status back."""
import time

import pytest
from django.urls import reverse
from django.utils import timezone

from asyncrest.models import Order, Part
from tests.conftest import WorkerProcess, wait_for_order

CHANGELIST = reverse("admin:asyncrest_order_changelist")


def act(admin_client, action: str, *orders):
    """Run an admin action on `orders` from the changelist, as a person would; return the page it leads to."""
    response = admin_client.post(
        CHANGELIST, {"action": action, "_selected_action": [str(o.pk) for o in orders]}, follow=True
    )
    assert response.status_code == 200
    return response


def messages_of(response) -> list[str]:
    return [str(message) for message in response.context["messages"]]


@pytest.fixture
def own_worker(redis_url, settings, tmp_path):
    """A worker on a queue of these tests' own, so that the session's worker starts no earlier than it did."""
    queue = f"{settings.ASYNCREST['QUEUE']}-admin"
    settings.RQ_QUEUES = {**settings.RQ_QUEUES, queue: settings.RQ_QUEUES[settings.ASYNCREST["QUEUE"]]}
    settings.ASYNCREST = {**settings.ASYNCREST, "QUEUE": queue}
    process = WorkerProcess(redis_url, tmp_path / "worker.log", queue=queue).start()
    yield process
    process.stop()


def make_order(owner, status="queued", resource="tests-sleep", **fields) -> Order:
    now = timezone.now()
    if status != "queued":
        fields.setdefault("started_at", now)
    if status in ("completed", "failed", "cancelled"):
        fields.setdefault("finished_at", now)
    fields.setdefault("input", {"items": 1})
    return Order.objects.create(owner=owner, resource=resource, status=status, **fields)


@pytest.mark.django_db
def test_the_changelist_filters_by_status_resource_and_owner(admin_client, user, other_user):
    mine = make_order(user, "failed", error_code="boom")
    theirs = make_order(other_user, "running", resource="tests-fanout", processed=30, total=40, progress=75.0)

    page = admin_client.get(CHANGELIST).content.decode()
    assert str(mine.pk) in page and str(theirs.pk) in page
    assert "75 % (30 of 40)" in page and "boom" in page

    def listed(query: str) -> set:
        return {order.pk for order in admin_client.get(CHANGELIST + query).context["cl"].result_list}

    assert listed("?status__exact=failed") == {mine.pk}
    assert listed("?resource__exact=tests-fanout") == {theirs.pk}
    assert listed(f"?owner__id__exact={other_user.pk}") == {theirs.pk}


@pytest.mark.django_db
def test_the_change_page_shows_the_traceback_usage_and_parts(admin_client, user):
    order = make_order(user, "failed", error_code="job_failed", error_message="The job failed",
                       error_detail="Traceback (most recent call last): RuntimeError: internal", usage={"requests": 3})
    Part.objects.create(order=order, index=0, func="tests.jobs.fanned_part", then="tests.jobs.fanned_done",
                        status="failed", error_code="part_broke", attempts=2)
    page = admin_client.get(reverse("admin:asyncrest_order_change", args=[order.pk])).content.decode()
    assert "RuntimeError: internal" in page
    assert "part_broke" in page and "&quot;requests&quot;: 3" in page


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("own_worker")
def test_cancel_stops_a_queued_and_a_running_order_and_leaves_a_failed_one(admin_client, api, user):
    queued = make_order(user)  # never enqueued: it waits for the reconciler
    running_url = api.post("/async/tests-sleep/order/", {"items": 400, "delay": 0.05}, format="json")["Location"]
    wait_for_order(api, running_url, until=("running",))
    running = Order.objects.get(pk=running_url.rstrip("/").rsplit("/", 1)[1])
    failed = make_order(user, "failed", error_code="boom")
    failed_before = Order.objects.filter(pk=failed.pk).values().get()

    response = act(admin_client, "cancel_orders", queued, running, failed)

    assert messages_of(response) == [
        "1 cancelled, 1 stopping at their next progress step, 1 already finished (left as they are)."
    ]
    queued.refresh_from_db()
    assert queued.status == "cancelled" and queued.finished_at is not None
    final = wait_for_order(api, running_url, timeout=10).json()
    assert final["status"] == "cancelled" and final["processed"] < 400
    assert Order.objects.filter(pk=failed.pk).values().get() == failed_before


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("own_worker")
def test_retry_places_a_new_order_linked_to_a_failed_one_and_it_runs(admin_client, user):
    entry = {"entry": "wrote a program using Python Django"}
    failed = make_order(user, "failed", resource="tagging", input=entry, error_code="tagging_failed")
    failed_before = Order.objects.filter(pk=failed.pk).values().get()
    running = make_order(user, "running", lease="held-elsewhere")
    queued = make_order(user)

    response = act(admin_client, "retry_orders", failed, running, queued)

    again = Order.objects.exclude(pk__in=[failed.pk, running.pk, queued.pk]).get()
    assert (again.owner, again.resource, again.input, again.retry_of_id) == (user, "tagging", entry, failed.pk)
    link = reverse("admin:asyncrest_order_change", args=[again.pk])
    assert messages_of(response) == [
        f'Order {failed.pk} is retried as <a href="{link}">{again.pk}</a>.',
        "2 selected order(s) were pending, or completed with nothing failed, and were not retried.",
    ]
    assert Order.objects.filter(pk=failed.pk).values().get() == failed_before, "a finished order never changes"
    assert Order.objects.get(pk=running.pk).status == "running" and Order.objects.get(pk=queued.pk).status == "queued"

    deadline = time.monotonic() + 30
    while (again := Order.objects.get(pk=again.pk)).status != "completed":
        assert not again.is_finished and time.monotonic() < deadline, (again.status, again.error_message)
        time.sleep(0.05)
    assert again.attempts == 1 and again.resource_url.startswith("/tagging/logs/")
