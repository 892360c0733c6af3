"""Long polls (`Prefer: wait=N`) and conditional requests (`ETag`, `If-None-Match`) on an order."""
import threading
import time
import uuid

import pytest
import requests
from rest_framework.authtoken.models import Token

from asyncrest import lifecycle
from asyncrest.api.longpoll import parse_prefer, requested_wait
from asyncrest.broker.pubsub import channel
from asyncrest.models import Order


@pytest.fixture(autouse=True)
def many_slots(settings):
    # A long poll left running by another test must not take this test's slot.
    settings.ASYNCREST = {**settings.ASYNCREST, "LONG_POLL_SLOTS": 50}


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("wait=10", {"wait": "10"}),
        ("respond-async, wait=10", {"respond-async": "", "wait": "10"}),
        ('respond-async; foo="a,b", WAIT = 5, wait=7', {"respond-async": "", "wait": "5"}),
        ('wait="12"', {"wait": "12"}),
        ("handling=lenient;strict=1,wait=3;x", {"handling": "lenient", "wait": "3"}),
        ("", {}),
        (None, {}),
    ],
)
def test_prefer_header_is_parsed_per_rfc_7240(header, expected):
    assert parse_prefer(header) == expected


@pytest.mark.parametrize(
    ("header", "seconds"),
    [("wait=5", 5), ("wait=30", 30), ("wait=31", 30), ("wait=3600", 30), ("respond-async, wait=2", 2),
     ("wait=0", 0), ("wait=-1", 0), ("wait=abc", 0), ("wait=1.5", 0), ("return=minimal", 0), (None, 0),
     # More digits than int() converts (4,300) was a 500; it is just a long wait.
     ("wait=" + "1" * 5000, 30), ("wait=" + "0" * 5000 + "7", 7)],
)
def test_requested_wait_is_capped_at_30_seconds_and_ignores_what_it_cannot_read(header, seconds):
    assert requested_wait(header) == seconds


def make_order(user, status="queued", **fields) -> Order:
    """An order that no worker will pick up: the tests move it themselves."""
    order = Order.objects.create(owner=user, resource="tests-sleep", input={"items": 10}, total=10, **fields)
    if status != "queued":
        lifecycle.claim(order.pk, "lease-1")
    if status == "completed":
        lifecycle.complete(order.pk, "/tests/results/1/")
    return order


@pytest.mark.django_db
class TestETags:
    def test_every_answer_carries_a_weak_etag_that_follows_the_order(self, api, user):
        order = make_order(user, "running")
        url = f"/async/orders/{order.pk}/"
        first = api.get(url)
        assert first.status_code == 202
        assert first["ETag"].startswith('W/"') and first["ETag"] == api.get(url)["ETag"]

        lifecycle.report_progress(order.pk, 3, 10, "Sleeping", lease="lease-1")
        second = api.get(url)
        assert second.status_code == 202 and second.json()["processed"] == 3
        assert second["ETag"] != first["ETag"]

    def test_if_none_match_with_the_current_etag_is_304_with_retry_after(self, api, user):
        order = make_order(user, "running")
        url = f"/async/orders/{order.pk}/"
        etag = api.get(url)["ETag"]
        response = api.get(url, HTTP_IF_NONE_MATCH=etag)
        assert response.status_code == 304
        assert response.content == b""
        assert response["ETag"] == etag and response["Retry-After"] == "1"
        # Weak comparison: the tag without W/ matches too, and so does one of a list.
        assert api.get(url, HTTP_IF_NONE_MATCH=etag.removeprefix("W/")).status_code == 304
        assert api.get(url, HTTP_IF_NONE_MATCH=f'"other", {etag}').status_code == 304
        assert api.get(url, HTTP_IF_NONE_MATCH="*").status_code == 304

    def test_if_none_match_with_an_old_etag_returns_the_order(self, api, user):
        order = make_order(user, "running")
        url = f"/async/orders/{order.pk}/"
        old = api.get(url)["ETag"]
        lifecycle.report_progress(order.pk, 4, 10, lease="lease-1")
        response = api.get(url, HTTP_IF_NONE_MATCH=old)
        assert response.status_code == 202 and response.json()["processed"] == 4

    def test_completed_order_is_304_with_its_location(self, api, user):
        order = make_order(user, "completed")
        url = f"/async/orders/{order.pk}/"
        etag = api.get(url)["ETag"]
        response = api.get(url, HTTP_IF_NONE_MATCH=etag)
        assert response.status_code == 304
        assert response["Location"] == "http://testserver/tests/results/1/"
        assert "Retry-After" not in response


@pytest.mark.django_db
@pytest.mark.usefixtures("redis_url")
class TestAnswersAtOnce:
    def test_finished_order_answers_a_long_poll_at_once(self, api, user):
        order = make_order(user, "completed")
        started = time.monotonic()
        response = api.get(f"/async/orders/{order.pk}/", HTTP_PREFER="wait=10")
        assert time.monotonic() - started < 5, "a finished order never waits"
        assert response.status_code == 201
        assert "Preference-Applied" not in response

    def test_with_every_slot_held_a_long_poll_is_answered_at_once(self, api, user, settings):
        settings.ASYNCREST = {**settings.ASYNCREST, "LONG_POLL_SLOTS": 0}
        order = make_order(user, "running")
        started = time.monotonic()
        response = api.get(f"/async/orders/{order.pk}/", HTTP_PREFER="wait=10")
        assert time.monotonic() - started < 5
        assert response.status_code == 202 and response["Retry-After"] == "1"
        assert "Preference-Applied" not in response, "the client learns that it must poll"

    def test_someone_elses_order_is_404_without_waiting(self, other_api, user):
        order = make_order(user, "running")
        started = time.monotonic()
        assert other_api.get(f"/async/orders/{order.pk}/", HTTP_PREFER="wait=10").status_code == 404
        assert other_api.get(f"/async/orders/{uuid.uuid4()}/", HTTP_PREFER="wait=10").status_code == 404
        assert time.monotonic() - started < 5


class LongPoll(threading.Thread):
    """A GET of an order with `Prefer: wait=N`, sent from a thread so the test can change the order."""

    def __init__(self, url: str, token: str, wait: int | str, **headers):
        super().__init__(daemon=True)
        self.headers = {"Authorization": f"Token {token}", "Prefer": f"wait={wait}" if isinstance(wait, int) else wait,
                        **headers}
        self.url = url
        self.response: requests.Response | None = None
        self.started_at = self.answered_at = 0.0

    def run(self):
        self.started_at = time.monotonic()
        self.response = requests.get(self.url, headers=self.headers, timeout=60)
        self.answered_at = time.monotonic()

    def elapsed(self) -> float:
        return self.answered_at - self.started_at


@pytest.fixture
def served(live_server, redis_url, user):
    """The live server, alice's token, and a Redis client to see who is subscribed."""
    import redis

    client = redis.Redis.from_url(redis_url)
    yield live_server.url, Token.objects.create(user=user).key, client
    client.close()


def wait_until_subscribed(client, order, timeout=10):
    deadline = time.monotonic() + timeout
    while client.pubsub_numsub(channel(order.pk))[0][1] < 1:
        assert time.monotonic() < deadline, "the long poll never subscribed"
        time.sleep(0.02)


def test_waiting_get_returns_within_one_second_of_a_progress_change(served, user):
    base, token, redis_client = served
    order = make_order(user, "running")
    poll = LongPoll(f"{base}/async/orders/{order.pk}/", token, wait=20)
    poll.start()
    wait_until_subscribed(redis_client, order)
    time.sleep(0.3)  # the request is now waiting, not still reading the order
    assert poll.is_alive(), "nothing changed, so the request must still be waiting"

    assert lifecycle.report_progress(order.pk, 6, 10, "Sleeping", lease="lease-1")
    changed_at = time.monotonic()
    poll.join(10)
    assert not poll.is_alive()
    assert poll.answered_at - changed_at < 1.0, "the contract: within 1 s of the change"
    assert poll.response.status_code == 202
    assert poll.response.headers["Preference-Applied"] == "wait=20"
    assert poll.response.json()["processed"] == 6 and poll.response.json()["progress"] == 60.0


def test_waiting_get_returns_within_one_second_of_completion(served, user):
    base, token, redis_client = served
    order = make_order(user, "running")
    poll = LongPoll(f"{base}/async/orders/{order.pk}/", token, wait="respond-async, wait=20")
    poll.start()
    wait_until_subscribed(redis_client, order)
    time.sleep(0.3)
    assert lifecycle.complete(order.pk, "/tests/results/7/", lease="lease-1")
    changed_at = time.monotonic()
    poll.join(10)
    assert poll.answered_at - changed_at < 1.0
    assert poll.response.status_code == 201
    assert poll.response.headers["Location"] == f"{base}/tests/results/7/"
    assert poll.response.headers["Preference-Applied"] == "wait=20"


def test_waiting_get_returns_after_n_seconds_when_nothing_changes(served, user):
    base, token, _ = served
    order = make_order(user, "running")
    poll = LongPoll(f"{base}/async/orders/{order.pk}/", token, wait=2)
    poll.run()
    assert 2.0 <= poll.elapsed() < 3.5
    assert poll.response.status_code == 202
    assert poll.response.headers["Preference-Applied"] == "wait=2"
    assert poll.response.headers["Retry-After"] == "1"
    assert poll.response.json()["processed"] == 0


def test_heartbeats_do_not_end_a_long_poll(served, user):
    base, token, redis_client = served
    order = make_order(user, "running")
    poll = LongPoll(f"{base}/async/orders/{order.pk}/", token, wait=2)
    poll.start()
    wait_until_subscribed(redis_client, order)
    lifecycle.heartbeat(order.pk, "lease-1")
    poll.join(10)
    assert poll.elapsed() >= 2.0, "a heartbeat is no change the client can see"


def test_with_the_current_etag_a_long_poll_that_sees_no_change_is_304(served, user):
    base, token, _ = served
    order = make_order(user, "running")
    url = f"{base}/async/orders/{order.pk}/"
    etag = requests.get(url, headers={"Authorization": f"Token {token}"}, timeout=10).headers["ETag"]
    poll = LongPoll(url, token, wait=1, **{"If-None-Match": etag})
    poll.run()
    assert 1.0 <= poll.elapsed() < 2.5
    assert poll.response.status_code == 304
    assert poll.response.headers["ETag"] == etag and poll.response.headers["Preference-Applied"] == "wait=1"


def test_with_an_old_etag_a_long_poll_answers_at_once(served, user):
    """A change between two long polls is not lost: the client's ETag says what it saw."""
    base, token, _ = served
    order = make_order(user, "running")
    url = f"{base}/async/orders/{order.pk}/"
    etag = requests.get(url, headers={"Authorization": f"Token {token}"}, timeout=10).headers["ETag"]
    lifecycle.report_progress(order.pk, 2, 10, lease="lease-1")
    poll = LongPoll(url, token, wait=20, **{"If-None-Match": etag})
    poll.run()
    assert poll.elapsed() < 5
    assert poll.response.status_code == 202 and poll.response.json()["processed"] == 2
    assert poll.response.headers["ETag"] != etag


def test_the_wait_is_capped_by_the_setting(served, user, settings):
    settings.ASYNCREST = {**settings.ASYNCREST, "LONG_POLL_MAX_WAIT": 1}
    base, token, _ = served
    order = make_order(user, "running")
    poll = LongPoll(f"{base}/async/orders/{order.pk}/", token, wait=25)
    poll.run()
    assert 1.0 <= poll.elapsed() < 2.5
    assert poll.response.headers["Preference-Applied"] == "wait=1"


def test_without_redis_a_long_poll_waits_out_its_time(served, user, settings):
    base, token, _ = served
    queue = settings.ASYNCREST["QUEUE"]
    settings.RQ_QUEUES = {queue: {"URL": "redis://127.0.0.1:1/0"}}
    order = make_order(user, "running")
    poll = LongPoll(f"{base}/async/orders/{order.pk}/", token, wait=1)
    poll.run()
    assert 1.0 <= poll.elapsed() < 4
    assert poll.response.status_code == 202


def test_the_long_poll_settings_are_checked(settings):
    from asyncrest.checks import check_long_polls

    assert check_long_polls(None) == []
    settings.ASYNCREST = {**settings.ASYNCREST, "LONG_POLL_MAX_WAIT": "30", "LONG_POLL_SLOTS": -1}
    assert [error.id for error in check_long_polls(None)] == ["asyncrest.E002", "asyncrest.E002"]


def place_waiting(base, token, body, resource="tests-sleep", **headers) -> tuple[requests.Response, float]:
    """POST an order with `headers` (e.g. Prefer); return the answer and the seconds it took."""
    started = time.monotonic()
    response = requests.post(f"{base}/async/{resource}/order/", json=body, timeout=60,
                             headers={"Authorization": f"Token {token}", **headers})
    return response, time.monotonic() - started


@pytest.mark.usefixtures("worker")
class TestWaitingPost:
    """`Prefer: wait=N` on POST: the answer comes when the order is finished, or after N seconds."""

    def test_an_order_done_within_the_wait_is_answered_201_with_its_result(self, served):
        base, token, _ = served
        response, elapsed = place_waiting(base, token, {"items": 2, "delay": 0.01}, Prefer="wait=20")
        assert response.status_code == 201, response.text
        body = response.json()
        assert body["status"] == "completed" and (body["processed"], body["total"]) == (2, 2)
        assert response.headers["Location"] == body["resource_url"] == f"{base}/tests/results/{body['id']}/"
        assert response.headers["Content-Location"] == body["url"] == f"{base}/async/orders/{body['id']}/"
        assert response.headers["Preference-Applied"] == "wait=20"
        assert "Retry-After" not in response.headers
        assert elapsed < 20

    def test_a_failed_order_is_answered_200_with_its_error(self, served):
        base, token, _ = served
        response, _ = place_waiting(base, token, {}, resource="tests-job-error", Prefer="wait=20")
        assert response.status_code == 200, response.text
        assert response.json()["error"]["code"] == "empty_input" and response.json()["status"] == "failed"
        assert response.headers["Content-Location"] == response.json()["url"]

    def test_an_order_still_running_after_the_wait_is_202_with_its_location(self, served):
        base, token, _ = served
        response, elapsed = place_waiting(base, token, {"items": 100, "delay": 0.05}, Prefer="wait=1")
        try:
            assert 1.0 <= elapsed < 4
            assert response.status_code == 202, response.text
            assert response.json()["status"] in ("queued", "running")
            assert response.headers["Location"] == response.json()["url"]
            assert response.headers["Retry-After"] == "1" and response.headers["Preference-Applied"] == "wait=1"
        finally:  # free the session's worker
            requests.delete(response.json()["url"], headers={"Authorization": f"Token {token}"}, timeout=10)

    def test_an_idempotent_replay_of_a_finished_order_answers_at_once(self, served):
        base, token, _ = served
        first, _ = place_waiting(base, token, {"items": 1, "delay": 0}, Prefer="wait=20", **{"Idempotency-Key": "k1"})
        again, elapsed = place_waiting(base, token, {"items": 1, "delay": 0}, Prefer="wait=20",
                                       **{"Idempotency-Key": "k1"})
        assert first.status_code == again.status_code == 201
        assert again.json()["id"] == first.json()["id"] and again.headers["Idempotent-Replayed"] == "true"
        assert "Preference-Applied" not in again.headers, "a finished order never waits"
        assert elapsed < 5
