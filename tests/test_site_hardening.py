"""The demo site's own defences: control characters in URLs and headers, JSON errors under the API, no RQ token in URLs.

The fuzz tests matter most on PostgreSQL, which refuses NUL in text (run with DATABASE_URL).
"""
import json

import pytest
from django.contrib.auth.models import User
from django.core.exceptions import PermissionDenied, SuspiciousOperation
from django.http import HttpResponse
from django.test import Client
from django.urls import get_resolver, include, path, resolve
from rest_framework.authtoken.models import Token

from asyncrest.testing import place_order, run_order_now
from demosite.urls import handler400, handler403, handler404, handler500  # noqa: F401 (this test urlconf's)
from demosite.views import API_PATH_PREFIXES
from tagging.models import Batch, Log

pytestmark = pytest.mark.django_db

#: Every query parameter a view of the site reads (engine, tagging, DRF, drf-spectacular, the admin's login).
PARAMS = ["status", "resource", "page", "page_size", "tag", "batch", "version", "format", "next"]
#: C0 controls but tab, DEL, and a byte that is not UTF-8, percent-encoded as a client would send them.
BAD = [f"%{code:02x}" for code in [*range(0x09), *range(0x0a, 0x20), 0x7f]] + ["%ff"]


def assert_sane(response, url: str, *what) -> None:
    """Assert a response to `url` is no 5xx, and JSON if it is an error under the API's paths."""
    assert response.status_code < 500, (*what, url, response.status_code, response.content[:300])
    if url.startswith(API_PATH_PREFIXES) and response.status_code >= 400:
        assert response["Content-Type"] == "application/json", (*what, url, response.status_code)
        json.loads(response.content)


@pytest.fixture
def objects(user):
    """Real ids for the URL patterns: an order, its log, a batch."""
    order = run_order_now(place_order(user, "tagging", {"entry": "Django on Kubernetes"}))
    log = Log.objects.get(order=order)
    log.batch = Batch.objects.create(owner=user)
    log.save()
    return {"order": order.pk, "log": log.pk, "batch": log.batch_id}


@pytest.fixture
def targets(objects):
    """One URL for every part of the site: each pattern of the API, and a page of every other include."""
    return [
        "/", "/async/orders/", f"/async/orders/{objects['order']}/", "/async/tagging/order/", "/async/nothing/order/",
        "/tagging/logs/", f"/tagging/logs/{objects['log']}/", f"/tagging/batches/{objects['batch']}/",
        f"/tagging/batches/{objects['batch']}/export.csv", "/tagging/tags/", "/api/schema/", "/api/docs/",
        "/healthz/", "/admin/login/", "/admin/", "/django-rq/", "/django-rq/stats.json/", "/django-rq/stats.json/x/",
        "/django-rq/metrics/", "/admin/django_rq/dashboard/stats.json/x/", "/api-auth/login/",
    ]


@pytest.fixture
def clients(user):
    token = Token.objects.create(user=user).key
    return {
        "token": Client(raise_request_exception=False, HTTP_AUTHORIZATION=f"Token {token}"),
        "anonymous": Client(raise_request_exception=False),
    }


def test_the_fuzzed_urls_reach_every_part_of_the_site(targets):
    routes = [resolve(url.split("?")[0]).route for url in targets]
    for pattern in get_resolver().url_patterns:
        assert any(route.startswith(str(pattern.pattern)) for route in routes), f"no fuzzed URL under {pattern}"


def test_no_control_character_in_a_query_is_a_server_error(targets, clients):
    for url in targets:
        for bad in BAD:
            queries = [*(f"{param}={bad}" for param in PARAMS), f"status=ok&tag=a{bad}b", f"{bad}=1"]
            for query, (name, client) in ((q, c) for q in queries for c in clients.items()):
                assert_sane(client.get(f"{url}?{query}"), f"{url}?{query}", name)
                if url == "/async/tagging/order/":
                    response = client.post(f"{url}?{query}", {"entry": "x"}, content_type="application/json")
                    assert_sane(response, f"{url}?{query}", name, "POST")


def test_no_control_character_in_a_path_segment_is_a_server_error(targets, clients):
    for url in targets:
        for bad in BAD:
            for name, client in clients.items():
                target = f"{url.rstrip('/')}/{bad}/" if url != "/" else f"/{bad}/"
                assert_sane(client.get(target), target, name)


@pytest.mark.parametrize("header", ["HTTP_PREFER", "HTTP_IF_NONE_MATCH", "HTTP_IDEMPOTENCY_KEY", "HTTP_COOKIE"])
def test_no_control_character_in_a_header_is_a_server_error(objects, clients, header):
    values = {"HTTP_PREFER": "wait=1{}", "HTTP_IF_NONE_MATCH": '"{}"', "HTTP_IDEMPOTENCY_KEY": "key-{}",
              "HTTP_COOKIE": "sessionid=abcdefgh{}ijkl"}
    for bad in BAD[:-1]:
        value = values[header].format(chr(int(bad[1:], 16)))
        for name, client in clients.items():
            for url in ["/async/orders/", f"/async/orders/{objects['order']}/", "/tagging/logs/"]:
                assert_sane(client.get(url, **{header: value}), url, name, header, value)
            response = client.post("/async/tagging/order/", {"entry": "x"}, content_type="application/json",
                                   **{header: value})
            assert_sane(response, "/async/tagging/order/", name, header, value)


def test_no_control_character_in_a_token_is_a_server_error(objects):
    for bad in BAD[:-1]:
        client = Client(raise_request_exception=False, HTTP_AUTHORIZATION=f"Token ab{chr(int(bad[1:], 16))}cd")
        for url in ["/async/orders/", f"/async/orders/{objects['order']}/", "/tagging/logs/", "/tagging/tags/"]:
            assert_sane(client.get(url), url, "a token holding", bad)
        assert_sane(client.post("/async/tagging/order/", {"entry": "x"}, content_type="application/json"),
                    "/async/tagging/order/", "a token holding", bad)


@pytest.mark.parametrize(
    ("query", "detail"),
    [
        ("resource=%00", "The query parameter 'resource' contains a control character."),
        ("status=ok&tag=a%0d%0ab", "The query parameter 'tag' contains a control character."),
        ("page=%7f", "The query parameter 'page' contains a control character."),
        ("version=%ff", "The query parameter 'version' is not valid UTF-8."),
        ("caf%e9=1", "A query parameter name ('caf\ufffd') is not valid UTF-8."),
        ("a%00b=1", r"A query parameter name ('a\x00b') contains a control character."),
    ],
)
def test_a_refused_query_is_a_json_400_naming_the_parameter(api, query, detail):
    for url in ["/async/orders/", "/api/schema/", "/admin/login/", "/no/such/page/"]:
        response = api.get(f"{url}?{query}")
        assert response.status_code == 400, url
        assert response.json() == {"detail": detail}


def test_a_refused_path_is_a_json_404_naming_the_segment(api):
    # 404, not 400: such a path names nothing, and every operation with a path parameter documents 404.
    for url, detail in [
        ("/tagging/logs/%00/", r"The path segment '\x00' contains a control character."),
        ("/async/orders/%ff/", "The path segment '\ufffd' is not valid UTF-8."),
        ("/admin/authtoken/tokenproxy/a%0d%0ab/change/", r"The path segment 'a\r\nb' contains a control character."),
    ]:
        response = api.get(url)
        assert response.status_code == 404, url
        assert response.json() == {"detail": detail}


def test_a_refused_header_is_a_json_400_that_does_not_echo_it():
    response = Client().get("/async/orders/", HTTP_AUTHORIZATION="Token sekrit\x00")
    assert response.status_code == 400
    assert response.json() == {"detail": "The Authorization header contains a control character."}


def test_the_schema_documents_the_400_wherever_a_query_is_read(api):
    schema = api.get("/api/schema/?format=json").json()
    operations = [op for item in schema["paths"].values() for op in item.values()]
    with_query = [op for op in operations if any(p["in"] == "query" for p in op.get("parameters", []))]
    assert schema["paths"]["/tagging/batches/{id}/export.csv"]["get"] in with_query
    assert all("400" in op["responses"] for op in with_query)


def test_tabs_and_unicode_still_pass(api):
    assert api.get("/tagging/logs/?tag=a%09b").status_code == 200
    assert api.get("/tagging/logs/?tag=caf%C3%A9+cr%C3%A8me&page_size=").status_code == 200
    assert api.get("/async/orders/?resource=tagging", HTTP_PREFER="wait=0;\tx").status_code == 200


# A test urlconf: the site's URLs plus views that fail, under the API's paths and elsewhere.
def boom(request):
    raise RuntimeError("a secret in the traceback")


def suspicious(request):
    raise SuspiciousOperation("a secret reason")


def forbidden(request):
    raise PermissionDenied("a secret reason")


def form(request):
    return HttpResponse("ok")  # a plain Django view: CsrfViewMiddleware checks its POSTs


FAILING = [path("boom/", boom), path("bad/", suspicious), path("forbidden/", forbidden), path("form/", form)]
urlpatterns = [
    *(path(f"{prefix.strip('/')}/site-test/", include(FAILING)) for prefix in API_PATH_PREFIXES),
    path("site-test/", include(FAILING)),
    path("", include("demosite.urls")),
]
PREFIXES = [*API_PATH_PREFIXES, "/"]


def assert_json(response, status: int, body: dict | None = None) -> None:
    assert response.status_code == status
    assert response["Content-Type"] == "application/json"
    if body is not None:
        assert response.json() == body
    assert b"secret" not in response.content and b"Traceback" not in response.content


def assert_html(response, status: int) -> None:
    assert response.status_code == status
    assert response["Content-Type"].startswith("text/html")
    assert b"secret" not in response.content and b"Traceback" not in response.content


@pytest.mark.urls(__name__)
@pytest.mark.parametrize("prefix", PREFIXES)
def test_a_view_that_raises_is_a_json_500_under_the_api_and_a_page_elsewhere(prefix, settings):
    assert not settings.DEBUG
    response = Client(raise_request_exception=False).get(f"{prefix}site-test/boom/")
    if prefix in API_PATH_PREFIXES:
        assert_json(response, 500, {"detail": "A server error occurred."})
    else:
        assert_html(response, 500)


@pytest.mark.urls(__name__)
@pytest.mark.parametrize("prefix", PREFIXES)
def test_400_403_404_and_csrf_failures_are_json_under_the_api_and_pages_elsewhere(prefix):
    client = Client(raise_request_exception=False, enforce_csrf_checks=True)
    check = assert_json if prefix in API_PATH_PREFIXES else assert_html
    check(client.get(f"{prefix}site-test/bad/"), 400)
    check(client.get(f"{prefix}site-test/forbidden/"), 403)
    check(client.get(f"{prefix}site-test/nothing-here/"), 404)
    response = client.post(f"{prefix}site-test/form/", {"x": "1"})
    check(response, 403)
    if prefix in API_PATH_PREFIXES:
        assert response.json()["detail"].startswith("CSRF Failed:")


def multipart(parts: list[str]) -> bytes:
    return ("".join(f"--B0UNDARY\r\nContent-Disposition: form-data; {part}\r\n\r\nx\r\n" for part in parts)
            + "--B0UNDARY--\r\n").encode()


# Bodies Django itself refuses with a 400 (TooManyFieldsSent, TooManyFilesSent) before DRF sees them,
# and one DRF refuses (an empty boundary).
UNREADABLE = {
    "1001 fields": ("multipart/form-data; boundary=B0UNDARY", multipart([f'name="f{i}"' for i in range(1001)])),
    "101 files": ("multipart/form-data; boundary=B0UNDARY",
                  multipart([f'name="file"; filename="{i}.csv"' for i in range(101)])),
    "empty boundary": ("multipart/form-data; boundary=", b"--\r\n"),
}


@pytest.mark.parametrize("body", UNREADABLE)
@pytest.mark.parametrize("how", ["session", "token"])
def test_an_unreadable_body_is_a_json_400_under_the_api(user, how, body):
    client = Client(raise_request_exception=False)
    if how == "session":
        client.force_login(user)
    else:
        client.defaults["HTTP_AUTHORIZATION"] = f"Token {Token.objects.create(user=user).key}"
    content_type, data = UNREADABLE[body]
    response = client.post("/async/tagging/order/", data, content_type=content_type)
    assert_json(response, 400)
    assert "detail" in response.json()


@pytest.mark.parametrize("url", ["/async/orders/", "/tagging/logs/", "/healthz/", "/admin/login/"])
def test_too_many_query_parameters_are_a_json_400_under_the_api(api, url):
    response = api.get(f"{url}?{'&'.join(['page=1'] * 1001)}")
    (assert_json if url.startswith(API_PATH_PREFIXES) else assert_html)(response, 400)


def test_an_unreadable_body_elsewhere_is_a_page():
    content_type, data = UNREADABLE["1001 fields"]
    assert_html(Client(raise_request_exception=False).post("/admin/login/", data, content_type=content_type), 400)


# django-rq's stats: the RQ_API_TOKEN in a Bearer header or a staff session, never in the URL.
RQ_TOKEN = "rq_monitoring_token_for_tests"  # word characters only, as django-rq's path pattern takes


@pytest.fixture
def rq_token(settings, redis_url):
    settings.RQ_API_TOKEN = RQ_TOKEN
    return RQ_TOKEN


@pytest.mark.parametrize("url", [
    f"/django-rq/stats.json/{RQ_TOKEN}/", f"/django-rq/stats.json/{RQ_TOKEN}",
    f"/admin/django_rq/dashboard/stats.json/{RQ_TOKEN}/",
])
def test_the_rq_token_in_the_url_path_is_404(rq_token, url):
    response = Client().get(url)
    assert response.status_code == 404
    assert b"queues" not in response.content


@pytest.mark.parametrize("url", ["/django-rq/stats.json/", "/django-rq/metrics/",
                                 "/admin/django_rq/dashboard/stats.json/"])
def test_the_rq_token_works_in_a_bearer_header_only(rq_token, url):
    assert Client().get(url, HTTP_AUTHORIZATION=f"Bearer {rq_token}").status_code == 200
    for header in [f"Bearer {rq_token}x", f"bearer {rq_token}", f"Token {rq_token}", rq_token, ""]:
        assert Client().get(url, HTTP_AUTHORIZATION=header).status_code == 401, header


def test_a_staff_session_sees_the_rq_stats_and_others_do_not(rq_token, user):
    staff = Client()
    staff.force_login(User.objects.create_user("rq-staff", password="x", is_staff=True))
    assert staff.get("/django-rq/stats.json/").status_code == 200
    assert staff.get("/django-rq/").status_code == 200
    member = Client()
    member.force_login(user)
    assert member.get("/django-rq/stats.json/").status_code == 401
