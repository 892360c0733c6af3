"""Webhooks: refused targets, Standard Webhooks signatures checked by a receiver, retries."""
import base64
import hashlib
import hmac
import json
import threading
import time
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.utils import timezone

from asyncrest import lifecycle
from asyncrest.models import Delivery, Order, SigningSecret
from asyncrest.webhooks.delivery import deliver_now
from asyncrest.webhooks.targets import CallbackRefused, check_callback_url
from tests.conftest import wait_for_order

KEY = b"asyncrest-tests-webhook-key"  # alice's signing key in these tests
ALICES_SECRET = "whsec_" + base64.b64encode(KEY).decode()


class Receiver:
    """A webhook receiver on localhost that answers with the statuses it is given, in turn."""

    def __init__(self, statuses=(204,)):
        self.statuses = list(statuses)
        self.requests = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                receiver.requests.append({"path": self.path, "headers": dict(self.headers), "body": body})
                status = receiver.statuses.pop(0) if len(receiver.statuses) > 1 else receiver.statuses[0]
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def url(self, host="localhost"):
        return f"http://{host}:{self.server.server_address[1]}/hooks/asyncrest?source=tests"

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver():
    receiver = Receiver()
    yield receiver
    receiver.close()


@pytest.fixture
def alices_secret(user):
    """Alice's own webhook signing secret, whose key is KEY."""
    return SigningSecret.objects.create(owner=user, secret=ALICES_SECRET)


def verify(request, key: bytes = KEY) -> dict:
    """Check a request as a Standard Webhooks receiver would, independently of asyncrest's code."""
    headers = {name.lower(): value for name, value in request["headers"].items()}
    signed = f"{headers['webhook-id']}.{headers['webhook-timestamp']}.".encode() + request["body"]
    expected = base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()
    signatures = [sig.partition(",")[2] for sig in headers["webhook-signature"].split()]
    assert any(hmac.compare_digest(expected, sig) for sig in signatures), "bad signature"
    assert abs(time.time() - int(headers["webhook-timestamp"])) < 300
    return json.loads(request["body"])


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("ftp://example.com/hook", "must start with http:// or https://"),
        ("http:///hook", "has no host"),
        ("http://127.0.0.1/hook", "resolves to 127.0.0.1, a loopback address"),
        ("http://[::1]:8080/hook", "resolves to ::1, a loopback address"),
        ("http://10.1.2.3/hook", "resolves to 10.1.2.3, a private address"),
        ("http://192.168.0.10/hook", "a private address"),
        ("http://169.254.169.254/latest/meta-data/", "resolves to 169.254.169.254, a link-local address"),
        ("http://0.0.0.0/hook", "0.0.0.0, an unspecified address"),
        ("http://[::ffff:127.0.0.1]/hook", "a loopback address"),
        ("http://user:secret@localhost/hook", "may not carry a user name or password"),
        # These were 500s: urlsplit's ValueError and the IDNA codec's UnicodeError escaped.
        ("http://[::1/hook", "is not a valid URL"),
        ("http://a..b/hook", "cannot be resolved"),
        (f"http://{'a' * 64}.example/hook", "cannot be resolved"),
    ],
)
def test_callback_urls_that_are_not_public_http_are_refused_at_post(api, alices_secret, url, reason):
    response = api.post("/async/tests-sleep/order/", {"items": 1, "callback_url": url}, format="json")
    assert response.status_code == 400
    assert reason in response.json()["callback_url"][0]
    assert not Order.objects.exists()


def test_a_public_host_passes_and_is_connected_to_at_the_checked_address():
    public = check_callback_url("https://hooks.example.com/x", resolver=lambda host, port: ["93.184.216.34"])
    assert public == ("hooks.example.com", 443, "93.184.216.34")
    with pytest.raises(CallbackRefused, match="10.0.0.7, a private address"):
        check_callback_url("https://hooks.example.com/x", resolver=lambda host, port: ["93.184.216.34", "10.0.0.7"])


@pytest.mark.django_db
def test_a_caller_without_a_signing_secret_cannot_ask_for_callbacks(other_api, alices_secret):
    response = other_api.post("/async/tests-sleep/order/", {"items": 1, "callback_url": "http://localhost/x"},
                              format="json")
    assert response.status_code == 400
    assert "Make your webhook signing secret first" in response.json()["callback_url"][0]


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("worker", "alices_secret")
def test_a_finished_order_is_announced_signed_to_its_callback(api, receiver):
    response = api.post("/async/tests-sleep/order/", {"items": 2, "delay": 0.01, "callback_url": receiver.url()},
                        format="json")
    assert response.status_code == 202
    done = wait_for_order(api, response["Location"])
    deadline = time.monotonic() + 15
    while not receiver.requests and time.monotonic() < deadline:
        time.sleep(0.05)
    (request,) = receiver.requests
    assert request["path"] == "/hooks/asyncrest?source=tests"
    body = verify(request)
    assert body["type"] == "order.completed"
    assert body["data"]["id"] == done.json()["id"]
    assert body["data"]["status"] == "completed"
    assert body["data"]["resource_url"] == done.json()["resource_url"]  # absolute, as the API shows it
    delivery = Delivery.objects.get(order_id=done.json()["id"])
    assert (delivery.status, delivery.attempts, delivery.last_status_code) == ("delivered", 1, 204)
    assert request["headers"]["webhook-id"] == delivery.message_id


@pytest.fixture
def finished_order(user, alices_secret):
    order = Order.objects.create(owner=user, resource="tests-sleep", origin="https://api.example.com")
    lifecycle.claim(order.pk, "lease-1")
    lifecycle.fail(order.pk, "boom", "It broke.")
    return Order.objects.get(pk=order.pk)


@pytest.mark.django_db
def test_a_receiver_answering_500_gets_the_same_message_again(finished_order):
    receiver = Receiver(statuses=[500, 204])
    try:
        delivery = Delivery.objects.create(order=finished_order, url=receiver.url(), event="order.failed")
        deliver_now(str(delivery.pk))
        delivery.refresh_from_db()
        assert (delivery.status, delivery.attempts, delivery.last_status_code) == ("pending", 1, 500)
        assert delivery.last_error == "the receiver answered HTTP 500"
        assert delivery.next_attempt_at > timezone.now()
        deliver_now(str(delivery.pk))  # not due yet: nothing happens
        assert len(receiver.requests) == 1

        Delivery.objects.filter(pk=delivery.pk).update(next_attempt_at=timezone.now() - timedelta(seconds=1))
        deliver_now(str(delivery.pk))
        delivery.refresh_from_db()
        assert (delivery.status, delivery.attempts, delivery.last_status_code) == ("delivered", 2, 204)
        first, second = receiver.requests
        assert first["headers"]["webhook-id"] == second["headers"]["webhook-id"]
        assert verify(second)["data"]["error"] == {"code": "boom", "message": "It broke."}
        assert verify(second)["data"]["url"].startswith("https://api.example.com/async/orders/")
    finally:
        receiver.close()


@pytest.mark.django_db
def test_a_target_that_turned_private_is_refused_at_delivery(finished_order, receiver):
    delivery = Delivery.objects.create(order=finished_order, url=receiver.url(host="127.0.0.1"), event="order.failed")
    deliver_now(str(delivery.pk))
    delivery.refresh_from_db()
    assert delivery.last_error.startswith("refused: The callback host '127.0.0.1' resolves to 127.0.0.1, a loopback")
    assert receiver.requests == []


@pytest.mark.django_db
def test_a_delivery_gives_up_after_its_last_attempt(finished_order, settings):
    settings.ASYNCREST = {**settings.ASYNCREST, "WEBHOOK_MAX_ATTEMPTS": 2}
    receiver = Receiver(statuses=[503])
    try:
        delivery = Delivery.objects.create(order=finished_order, url=receiver.url(), event="order.failed")
        for _ in range(2):
            Delivery.objects.filter(pk=delivery.pk).update(next_attempt_at=timezone.now() - timedelta(seconds=1))
            deliver_now(str(delivery.pk))
        delivery.refresh_from_db()
        assert (delivery.status, delivery.attempts) == ("failed", 2)
        assert len(receiver.requests) == 2
    finally:
        receiver.close()


class TricklingReceiver:
    """A receiver on localhost that reads the request, then answers one byte every `pause` seconds."""

    def __init__(self, pause: float):
        import socket

        self.sock = socket.create_server(("127.0.0.1", 0))
        self.pause, self.stop = pause, threading.Event()
        self.thread = threading.Thread(target=self.serve, daemon=True)
        self.thread.start()

    def serve(self):
        self.sock.settimeout(0.2)
        while not self.stop.is_set():
            try:
                connection, _ = self.sock.accept()
            except OSError:
                continue
            with connection:
                connection.recv(65536)
                for byte in b"HTTP/1.1 204 No Content\r\n\r\n":
                    if self.stop.wait(self.pause):
                        return
                    try:
                        connection.sendall(bytes([byte]))
                    except OSError:
                        break

    def url(self):
        return f"http://localhost:{self.sock.getsockname()[1]}/slow"

    def close(self):
        self.stop.set()
        self.thread.join(5)
        self.sock.close()


@pytest.mark.django_db
def test_a_receiver_that_trickles_its_answer_holds_the_worker_for_the_deadline_at_most(finished_order, settings):
    # Each byte comes well within a per-read timeout: only a deadline on the whole attempt ends it.
    settings.ASYNCREST = {**settings.ASYNCREST, "WEBHOOK_TIMEOUT": 1.5}
    receiver = TricklingReceiver(pause=0.4)
    try:
        delivery = Delivery.objects.create(order=finished_order, url=receiver.url(), event="order.failed")
        started = time.monotonic()
        deliver_now(str(delivery.pk))
        took = time.monotonic() - started
        delivery.refresh_from_db()
    finally:
        receiver.close()
    assert took < 1.5 + 1.0, took
    assert (delivery.status, delivery.attempts, delivery.last_status_code) == ("pending", 1, None)
    assert "did not answer within 1.5 s" in delivery.last_error


@pytest.mark.django_db
@pytest.mark.parametrize("url", ["http://example.com/a\r\nX-Injected: 1", "http://example.com/a b", "http://exa\x00mple.com/"])
def test_a_callback_url_with_spaces_or_control_characters_is_refused(url):
    with pytest.raises(CallbackRefused, match="spaces or control characters"):
        check_callback_url(url, resolver=lambda host, port: ["93.184.216.34"])


@pytest.mark.django_db
def test_deliveries_go_to_the_webhook_queue_when_one_is_set(finished_order, settings, redis_url):
    from asyncrest.broker.queues import get_queue
    from asyncrest.webhooks.delivery import enqueue_delivery

    settings.RQ_QUEUES = {**settings.RQ_QUEUES, "tests-webhooks": {"URL": redis_url}}
    settings.ASYNCREST = {**settings.ASYNCREST, "WEBHOOK_QUEUE": "tests-webhooks"}
    queue = get_queue("tests-webhooks")
    queue.empty()
    delivery = Delivery.objects.create(order=finished_order, url="https://example.com/hook", event="order.failed")
    assert enqueue_delivery(delivery)
    assert [job.func_name for job in queue.jobs] == ["asyncrest.webhooks.delivery.deliver"]
    queue.empty()



def finished_order_of(owner):
    order = Order.objects.create(owner=owner, resource="tests-sleep", origin="https://api.example.com")
    lifecycle.claim(order.pk, "lease-1")
    lifecycle.fail(order.pk, "boom", "It broke.")
    return order


@pytest.mark.django_db
def test_a_delivery_signed_for_one_user_does_not_verify_with_anothers_secret(finished_order, other_user, receiver):
    bobs = SigningSecret.objects.create(owner=other_user, secret="whsec_" + base64.b64encode(b"bobs-own-key").decode())
    for order in (finished_order, finished_order_of(other_user)):
        delivery = Delivery.objects.create(order=order, url=receiver.url(), event="order.failed")
        deliver_now(str(delivery.pk))
    alices, bobs_request = receiver.requests
    assert verify(alices)["data"]["id"] == str(finished_order.pk)
    assert verify(bobs_request, key=b"bobs-own-key")
    with pytest.raises(AssertionError, match="bad signature"):
        verify(alices, key=b"bobs-own-key")
    with pytest.raises(AssertionError, match="bad signature"):
        verify(bobs_request)
    assert bobs.secret != ALICES_SECRET


@pytest.mark.django_db
def test_a_rotated_secret_signs_beside_the_new_one_for_the_overlap_then_stops(finished_order, user, receiver, settings):
    from asyncrest.webhooks.signing import key_of, rotate

    settings.ASYNCREST = {**settings.ASYNCREST, "WEBHOOK_ROTATION_OVERLAP": 3600}
    new, previous_until = rotate(user)
    assert new.startswith("whsec_") and new != ALICES_SECRET
    assert 3590 < (previous_until - timezone.now()).total_seconds() <= 3600
    delivery = Delivery.objects.create(order=finished_order, url=receiver.url(), event="order.failed")
    deliver_now(str(delivery.pk))
    (during,) = receiver.requests
    assert len(during["headers"]["webhook-signature"].split()) == 2
    verify(during)  # the old key still verifies during the overlap
    verify(during, key=key_of(new))
    SigningSecret.objects.filter(owner=user).update(previous_until=timezone.now() - timedelta(seconds=1))
    Delivery.objects.filter(pk=delivery.pk).update(status="pending", next_attempt_at=timezone.now())
    receiver.statuses = [204]
    Delivery.objects.create(order=finished_order_of(user), url=receiver.url(), event="order.failed")
    deliver_now(str(Delivery.objects.latest("created_at").pk))
    after = receiver.requests[-1]
    assert len(after["headers"]["webhook-signature"].split()) == 1
    verify(after, key=key_of(new))
    with pytest.raises(AssertionError, match="bad signature"):
        verify(after)


@pytest.mark.django_db
def test_the_secret_endpoint_makes_rotates_and_shows_a_secret_only_once(api, other_api):
    from rest_framework.test import APIClient

    assert api.get("/async/webhooks/secret/").json() == {
        "exists": False, "created_at": None, "rotated_at": None, "previous_valid_until": None,
    }
    made = api.post("/async/webhooks/secret/")
    assert made.status_code == 201 and made["Cache-Control"] == "no-store"
    first = made.json()["secret"]
    assert first.startswith("whsec_") and len(base64.b64decode(first[6:])) == 32
    assert made.json()["previous_valid_until"] is None
    state = api.get("/async/webhooks/secret/").json()
    assert state["exists"] and first not in str(state)
    rotated = api.post("/async/webhooks/secret/").json()
    assert rotated["secret"] != first and rotated["previous_valid_until"]
    assert other_api.get("/async/webhooks/secret/").json()["exists"] is False  # each user has their own
    assert APIClient().post("/async/webhooks/secret/").status_code == 401
    assert APIClient().get("/async/webhooks/secret/").status_code == 401
