"""The HTTP contract of the order endpoints, status code by status code and header by header."""
import io
import uuid

import pytest
from rest_framework.test import APIClient

from asyncrest import lifecycle
from asyncrest.models import Order

pytestmark = pytest.mark.django_db


def place(api, resource="tests-sleep", body=None, **extra):
    return api.post(f"/async/{resource}/order/", body if body is not None else {"items": 1}, format="json", **extra)


def test_post_returns_202_with_absolute_location_and_retry_after(api):
    response = place(api)
    assert response.status_code == 202
    order = Order.objects.get()
    assert response["Location"] == f"http://testserver/async/orders/{order.pk}/"
    assert response["Retry-After"] == "1"
    body = response.json()
    assert body["id"] == str(order.pk)
    assert body["url"] == response["Location"]
    assert body["status"] == "queued"
    assert body["resource"] == "tests-sleep"
    assert body["progress"] == 0.0 and body["processed"] == 0 and body["total"] is None
    assert body["resource_url"] is None and body["error"] is None
    assert body["attempts"] == 0 and body["started_at"] is None and body["finished_at"] is None
    assert set(body) == {
        "id", "url", "resource", "status", "progress", "processed", "total", "message",
        "resource_url", "error", "created_at", "started_at", "finished_at", "attempts", "retry", "counts", "retry_of", "retried_by",
    }


def test_order_row_stores_validated_input_and_job_id(api):
    place(api, body={"items": 3, "delay": 0.5})
    order = Order.objects.get()
    assert order.input == {"items": 3, "delay": 0.5}
    assert order.job_id == str(order.pk)


def test_post_without_credentials_is_401():
    response = APIClient().post("/async/tests-sleep/order/", {"items": 1}, format="json")
    assert response.status_code == 401
    assert response["WWW-Authenticate"].startswith("Token")
    assert not Order.objects.exists()


def test_post_with_a_bad_token_is_401():
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION="Token not-a-token")
    assert client.post("/async/tests-sleep/order/", {"items": 1}, format="json").status_code == 401


def test_session_authentication_places_orders(client, user):
    client.force_login(user)
    response = client.post("/async/tests-sleep/order/", {"items": 1}, content_type="application/json")
    assert response.status_code == 202
    assert Order.objects.get().owner == user


def test_unknown_resource_is_404(api):
    response = place(api, resource="no-such-thing")
    assert response.status_code == 404
    assert "no-such-thing" in response.json()["detail"]
    assert not Order.objects.exists()


def test_field_errors_are_400_naming_the_field(api):
    response = place(api, body={"items": 0})
    assert response.status_code == 400
    assert "items" in response.json()
    assert not Order.objects.exists()


def test_malformed_json_is_400(api):
    response = api.post("/async/tests-sleep/order/", b'{"items": ', content_type="application/json")
    assert response.status_code == 400
    assert "JSON parse error" in response.json()["detail"]


def test_json_nested_too_deeply_for_python_is_400_not_500(api):
    response = api.post("/async/tests-sleep/order/", b"[" * 100_000, content_type="application/json")
    assert response.status_code == 400
    assert "nested too deeply" in response.json()["detail"]


def test_unsupported_media_type_is_415(api):
    response = api.post("/async/tests-sleep/order/", b"<items>1</items>", content_type="application/xml")
    assert response.status_code == 415
    assert "application/xml" in response.json()["detail"]


@pytest.mark.parametrize(
    ("body", "content_type"),
    [(b"items\n1\n", "text/csv"), (b"items=1", "application/x-www-form-urlencoded"), (b"--x--", "multipart/form-data; boundary=x")],
)
def test_a_json_only_resource_refuses_every_other_media_type_with_415(api, body, content_type):
    # tests-sleep registers no parsers: JSON alone, whatever parsers the site lists.
    response = api.post("/async/tests-sleep/order/", body, content_type=content_type)
    assert response.status_code == 415, response.content
    assert content_type.split(";")[0] in response.json()["detail"]


def test_a_resource_takes_the_media_types_it_registered(api, user):
    # The tagging resource registers JSON, multipart and text/csv.
    assert api.post("/async/tagging/order/", b"entry\nDjango\n", content_type="text/csv").status_code == 202
    assert api.post("/async/tagging/order/", b"entry=Django", content_type="application/x-www-form-urlencoded"
                    ).status_code == 415


def test_the_engine_views_carry_their_own_http_rules():
    """Whatever the host's REST_FRAMEWORK says: authentication required, own pagination and error handler."""
    from rest_framework.permissions import IsAuthenticated

    from asyncrest.api.exceptions import exception_handler
    from asyncrest.api.pagination import OrderPagination
    from asyncrest.api.views import OrderCreateView, OrderDetailView, OrderListView

    for view in (OrderCreateView, OrderDetailView, OrderListView):
        assert view.permission_classes == [IsAuthenticated]
        assert view().get_exception_handler() is exception_handler
    assert OrderListView.pagination_class is OrderPagination


def test_the_order_list_is_paginated_by_the_engine(api, settings):
    settings.ASYNCREST = {**settings.ASYNCREST, "PAGE_SIZE": 2}
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "PAGE_SIZE": None, "DEFAULT_PAGINATION_CLASS": None}
    ids = [place(api).json()["id"] for _ in range(3)]
    first = api.get("/async/orders/").json()
    assert (first["count"], [o["id"] for o in first["results"]]) == (3, ids[::-1][:2])
    assert api.get(first["next"]).json()["results"][0]["id"] == ids[0]
    assert len(api.get("/async/orders/?page_size=3").json()["results"]) == 3
    assert api.get("/async/orders/?page=9").status_code == 404


def test_no_credentials_is_401_with_a_challenge_even_when_session_authentication_comes_first(client, settings):
    from rest_framework.authentication import BasicAuthentication, SessionAuthentication

    from asyncrest.api.views import OrderListView

    view = OrderListView
    before = view.authentication_classes
    view.authentication_classes = [SessionAuthentication, BasicAuthentication]  # DRF's defaults, in their order
    try:
        response = client.get("/async/orders/")
    finally:
        view.authentication_classes = before
    assert response.status_code == 401
    assert response["WWW-Authenticate"].startswith("Basic")


def test_oversized_body_is_413(api, settings):
    settings.ASYNCREST = {**settings.ASYNCREST, "MAX_BODY_SIZE": 100}
    response = api.post("/async/tests-sleep/order/", {"items": 1, "pad": "x" * 200}, format="json")
    assert response.status_code == 413
    assert "limit is 100 bytes" in response.json()["detail"]


def test_get_queued_order_is_202_with_retry_after(api):
    location = place(api)["Location"]
    response = api.get(location)
    assert response.status_code == 202
    assert response["Retry-After"] == "1"
    assert response.json()["status"] == "queued"
    assert "Location" not in response


def test_get_running_order_is_202(api):
    order_id = place(api).json()["id"]
    assert lifecycle.claim(order_id, "lease-1")
    response = api.get(f"/async/orders/{order_id}/")
    assert response.status_code == 202
    assert response.json()["status"] == "running"
    assert response.json()["attempts"] == 1


def test_get_completed_order_is_201_with_resource_location(api):
    order_id = place(api).json()["id"]
    lifecycle.claim(order_id, "lease-1")
    lifecycle.complete(order_id, "/tests/results/1/")
    response = api.get(f"/async/orders/{order_id}/")
    assert response.status_code == 201
    assert response["Location"] == "http://testserver/tests/results/1/"
    assert response.json()["resource_url"] == "http://testserver/tests/results/1/"
    assert response.json()["progress"] == 100.0
    assert "Retry-After" not in response


def test_get_failed_order_is_200_with_error(api):
    order_id = place(api).json()["id"]
    lifecycle.fail(order_id, "llm_unavailable", "The language model did not answer.", "Traceback ...")
    response = api.get(f"/async/orders/{order_id}/")
    assert response.status_code == 200
    assert response.json()["error"] == {"code": "llm_unavailable", "message": "The language model did not answer."}
    assert "Traceback" not in response.content.decode()
    assert "Location" not in response and "Retry-After" not in response


def test_get_cancelled_order_is_200(api):
    order_id = place(api).json()["id"]
    assert lifecycle.cancel(order_id)
    response = api.get(f"/async/orders/{order_id}/")
    assert response.status_code == 200
    assert response.json()["status"] == "cancelled"
    assert response.json()["finished_at"] is not None


def test_unknown_order_is_404(api):
    assert api.get(f"/async/orders/{uuid.uuid4()}/").status_code == 404
    # No URL pattern matches: the site's handler404 answers JSON, as DRF's own 404s are.
    response = api.get("/async/orders/not-a-uuid/")
    assert response.status_code == 404
    assert response["Content-Type"] == "application/json"
    assert response.json() == {"detail": "Not found."}


def test_someone_elses_order_is_404(api, other_api):
    location = place(api)["Location"]
    assert other_api.get(location).status_code == 404
    assert api.get(location).status_code == 202


def test_order_status_needs_credentials(api):
    location = place(api)["Location"]
    assert APIClient().get(location).status_code == 401


def test_list_shows_own_orders_newest_first(api, other_api):
    first = place(api).json()["id"]
    second = place(api, body={"items": 2}).json()["id"]
    place(other_api)
    response = api.get("/async/orders/")
    assert response.status_code == 200
    assert [o["id"] for o in response.json()["results"]] == [second, first]
    assert response.json()["count"] == 2


def test_list_filters_by_status_and_resource(api):
    done = place(api).json()["id"]
    place(api)
    place(api, resource="tests-nothing", body={})
    lifecycle.claim(done, "lease-1")
    lifecycle.complete(done, "/x/")
    assert [o["id"] for o in api.get("/async/orders/?status=completed").json()["results"]] == [done]
    assert api.get("/async/orders/?resource=tests-nothing").json()["count"] == 1
    assert api.get("/async/orders/?resource=tests-sleep&status=queued").json()["count"] == 1


@pytest.mark.parametrize("value", ["\x00", "tagging\x00", "a b", "\x1b[31m", "é", "x" * 65])
def test_list_rejects_a_resource_filter_that_is_no_resource_name(api, engine_alone, value):
    response = api.get("/async/orders/", {"resource": value})
    assert response.status_code == 400
    assert "resource" in response.json()


@pytest.mark.parametrize("value", ["\x00", "queued\x00", "\x7f"])
def test_list_rejects_a_status_filter_with_control_characters(api, engine_alone, value):
    assert api.get("/async/orders/", {"status": value}).status_code == 400


def test_list_rejects_an_unknown_status(api):
    response = api.get("/async/orders/?status=done")
    assert response.status_code == 400
    assert "status" in response.json()


def test_health_check_reports_database_and_redis(client, redis_url):
    response = client.get("/healthz/")
    assert response.status_code == 200
    assert response.json() == {"database": "ok", "redis": "ok"}


def test_health_check_is_503_when_redis_is_unreachable(client, settings, redis_url):
    queue = settings.ASYNCREST["QUEUE"]
    settings.RQ_QUEUES = {queue: {"URL": "redis://127.0.0.1:1/0"}}
    response = client.get("/healthz/")
    assert response.status_code == 503
    assert response.json()["redis"].startswith("error:")
    assert response.json()["database"] == "ok"


def test_order_is_accepted_and_kept_queued_when_redis_is_down(api, settings, django_capture_on_commit_callbacks):
    queue = settings.ASYNCREST["QUEUE"]
    settings.RQ_QUEUES = {queue: {"URL": "redis://127.0.0.1:1/0"}}
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        response = place(api)
    # The enqueue and the order_changed announcement: both only after the order row commits.
    assert len(callbacks) == 2
    assert response.status_code == 202
    assert Order.objects.get().status == "queued"


def test_enqueue_happens_on_commit_with_the_order_id(api, redis_client, django_capture_on_commit_callbacks):
    from asyncrest.broker.queues import get_queue

    queue = get_queue()
    queue.empty()
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        order_id = place(api).json()["id"]
    assert queue.count == 0, "nothing reaches Redis before the transaction commits"
    callbacks[0]()
    job = queue.fetch_job(order_id)
    assert job.func_name == "asyncrest.worker.runner.run_order" and job.args == (order_id,)
    assert job.timeout == 60
    queue.empty()


class TestChunkedBodies:
    """A body without Content-Length, sent with Transfer-Encoding: chunked, is read whole, within its limit."""

    def request(self, user, body: bytes, *, terminated: bool = True, content_type: str = "application/json"):
        from django.core.handlers.wsgi import LimitedStream
        from django.test import RequestFactory
        from rest_framework.authtoken.models import Token

        token, _ = Token.objects.get_or_create(user=user)
        request = RequestFactory().post("/async/tests-sleep/order/", b"", content_type=content_type,
                                        HTTP_AUTHORIZATION=f"Token {token.key}", HTTP_TRANSFER_ENCODING="chunked")
        # As a server that decoded the chunks hands the request over: no length, the body in wsgi.input.
        request.META.pop("CONTENT_LENGTH", None)
        request.META["CONTENT_TYPE"] = content_type
        request.META["wsgi.input"] = io.BytesIO(body)
        request.META["wsgi.input_terminated"] = terminated
        request._stream = LimitedStream(request.META["wsgi.input"], 0)
        return request

    def call(self, request, resource="tests-sleep"):
        from asyncrest.api.views import OrderCreateView

        response = OrderCreateView.as_view()(request, resource=resource)
        response.render()
        return response

    def test_a_chunked_json_body_is_parsed(self, user):
        response = self.call(self.request(user, b'{"items": 7}'))
        assert response.status_code == 202, response.content
        assert Order.objects.get(pk=response.data["id"]).input["items"] == 7

    def test_a_chunked_body_over_the_limit_is_413(self, user, settings):
        settings.ASYNCREST = {**settings.ASYNCREST, "MAX_BODY_SIZE": 100}
        response = self.call(self.request(user, b'{"items": 7, "pad": "' + b"x" * 200 + b'"}'))
        assert response.status_code == 413
        assert "limit of 100 bytes" in response.data["detail"]
        assert not Order.objects.exists()

    def test_a_server_that_does_not_end_the_input_gets_411_not_a_hang(self, user):
        response = self.call(self.request(user, b'{"items": 7}', terminated=False))
        assert response.status_code == 411
        assert "Content-Length" in response.data["detail"]
