"""Query counts per endpoint: constant whatever the number of rows (no N+1), and small."""
import os

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from asyncrest import lifecycle
from asyncrest.auth import tokens
from asyncrest.models import Order
from tagging.models import Batch, Log, Tag

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def token_known(request):
    """The client's token is already known (CachedTokenAuthentication): counts are the endpoint's own."""
    if "api" in request.fixturenames:
        assert request.getfixturevalue("api").get("/async/orders/").status_code == 200


def count_queries(call) -> int:
    with CaptureQueriesContext(connection) as queries:
        response = call()
    assert response.status_code < 400, (response.status_code, getattr(response, "data", None))
    # The test's own transaction turns the view's atomic block into savepoints: not queries.
    sql = [q["sql"] for q in queries if "SAVEPOINT" not in q["sql"]]
    if os.environ.get("ASYNCREST_SHOW_QUERIES"):
        print(*[statement[:150] for statement in sql], sep="\n")
    return len(sql)


def make_orders(user, n):
    for _ in range(n):
        order = Order.objects.create(owner=user, resource="tests-sleep", input={"items": 1})
        lifecycle.claim(order.pk, "lease")
        lifecycle.complete(order.pk, "/x/")
    return order


def make_batch(user, logs, tags_each=3):
    batch = Batch.objects.create(owner=user)
    for i in range(logs):
        log = Log.objects.create(owner=user, entry=f"entry {i}", batch=batch, position=i)
        Tag.objects.bulk_create([Tag(value=f"Tech{j}", log=log) for j in range(tags_each)])
    return batch


def test_placing_an_order_takes_one_query_and_the_token_lookup_once(api, redis_url):
    # The token lookup (kept by CachedTokenAuthentication), and the INSERT of the order row
    # (enqueueing is Redis, after commit).
    place = lambda: api.post("/async/tests-sleep/order/", {"items": 1}, format="json")  # noqa: E731
    tokens.clear()
    assert count_queries(place) == 2
    assert count_queries(place) == 1


def test_polling_an_order_is_one_indexed_query_after_authentication(api, user):
    order = make_orders(user, 1)
    tokens.clear()
    assert count_queries(lambda: api.get(f"/async/orders/{order.pk}/")) == 2
    assert count_queries(lambda: api.get(f"/async/orders/{order.pk}/")) == 1
    etag = api.get(f"/async/orders/{order.pk}/")["ETag"]
    assert count_queries(lambda: api.get(f"/async/orders/{order.pk}/", HTTP_IF_NONE_MATCH=etag)) == 1


def test_poll_lookup_uses_the_primary_key_index(user):
    order = make_orders(user, 1)
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            # A tiny table may be scanned anyway; this asks whether an index path exists.
            cursor.execute("SET LOCAL enable_seqscan = off")
    plan = Order.objects.filter(owner=user, pk=order.pk).explain()
    assert "SCAN asyncrest_order" not in plan and "Seq Scan" not in plan, plan


def captured_sql(call) -> list[str]:
    with CaptureQueriesContext(connection) as queries:
        response = call()
    assert response.status_code < 400, response.status_code
    return [q["sql"] for q in queries]


@pytest.mark.parametrize("how", ["poll", "304", "list", "cancel"])
def test_order_responses_never_read_the_orders_input(api, user, how):
    # An order's input may be thousands of entries: polls and lists must not load and decode it.
    order = Order.objects.create(owner=user, resource="tests-sleep", input={"entries": ["x" * 100] * 5000})
    url = f"/async/orders/{order.pk}/"
    calls = {
        "poll": lambda: api.get(url),
        "304": lambda: api.get(url, HTTP_IF_NONE_MATCH=api.get(url)["ETag"]),
        "list": lambda: api.get("/async/orders/"),
        "cancel": lambda: api.delete(url),
    }
    statements = [sql for sql in captured_sql(calls[how]) if "asyncrest_order" in sql and sql.startswith("SELECT")]
    assert statements, "the order was read"
    for sql in statements:
        assert '"input"' not in sql and '"usage"' not in sql, sql


@pytest.mark.parametrize("path", ["/async/orders/", "/tagging/logs/", "/tagging/tags/"])
def test_lists_take_the_same_queries_for_1_and_20_rows(api, user, path):
    make_orders(user, 1)
    make_batch(user, 1)
    few = count_queries(lambda: api.get(path))
    make_orders(user, 19)
    make_batch(user, 19)
    assert count_queries(lambda: api.get(path)) == few
    assert few <= 4


def test_batch_detail_and_export_take_the_same_queries_for_1_and_50_logs(api, user):
    small, big = make_batch(user, 1), make_batch(user, 50)
    for url in (lambda b: b.get_absolute_url(), lambda b: f"{b.get_absolute_url()}export.csv"):
        def fetch(batch):
            response = api.get(url(batch))
            if hasattr(response, "streaming_content"):
                b"".join(response.streaming_content)  # the queries run while streaming
            return response

        assert count_queries(lambda: fetch(small)) == count_queries(lambda: fetch(big))


def test_log_detail_is_constant_in_tags(api, user):
    one = make_batch(user, 1, tags_each=1).logs.get().get_absolute_url()
    many = make_batch(user, 1, tags_each=30).logs.get().get_absolute_url()
    assert count_queries(lambda: api.get(many)) == count_queries(lambda: api.get(one)) == 2
