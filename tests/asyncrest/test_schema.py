"""The OpenAPI schema: valid, one path per resource, every endpoint, code and header; Swagger UI without a CDN."""
import json
import re

import pytest
from django.core.management import call_command
from django.urls import URLPattern, URLResolver, get_resolver
from rest_framework.views import APIView

from asyncrest import register
from asyncrest.registry import get_resources, unregister

pytestmark = pytest.mark.django_db

GENERIC_ORDER_PATH = "/async/{resource}/order/"


@pytest.fixture(scope="module")
def schema(tmp_path_factory) -> dict:
    """The schema as `manage.py spectacular` writes it, validated, failing on any warning."""
    path = tmp_path_factory.mktemp("schema") / "schema.json"
    call_command("spectacular", "--validate", "--fail-on-warn", "--format", "openapi-json", "--file", str(path))
    return json.loads(path.read_text())


def site_api_views() -> dict[str, type]:
    """Map the OpenAPI path of every DRF view in the site's URLconf to its class (read from the URLconf itself)."""
    found = {}

    def walk(patterns, prefix: str) -> None:
        for pattern in patterns:
            if isinstance(pattern, URLResolver):
                walk(pattern.url_patterns, prefix + str(pattern.pattern))
            elif isinstance(pattern, URLPattern):
                view = getattr(pattern.callback, "cls", None)
                if view and issubclass(view, APIView) and not view.__module__.startswith("drf_spectacular"):
                    route = re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", prefix + str(pattern.pattern))
                    # drf-spectacular names a `pk` path parameter `id`, as the schema's readers expect.
                    found.setdefault("/" + route.replace("{pk}", "{id}"), view)

    walk(get_resolver().url_patterns, "")
    return found


def expected_operations() -> set[tuple[str, str]]:
    """Every (path, method) the site serves, with the generic order path as one path per resource."""
    operations = set()
    for path, view in site_api_views().items():
        methods = {m.lower() for m in view().allowed_methods} - {"options", "head"}
        paths = [f"/async/{name}/order/" for name in get_resources()] if path == GENERIC_ORDER_PATH else [path]
        operations |= {(p, m) for p in paths for m in methods}
    return operations


def test_the_schema_covers_every_endpoint_of_the_site_and_nothing_else(schema):
    documented = {(path, method) for path, item in schema["paths"].items() for method in item}
    expected = expected_operations()
    assert ("/async/tagging/order/", "post") in expected and ("/tagging/tags/", "get") in expected
    assert documented == expected
    assert GENERIC_ORDER_PATH not in schema["paths"]


def test_each_resource_has_its_own_request_body(schema):
    sleep = schema["paths"]["/async/tests-sleep/order/"]["post"]
    ref = sleep["requestBody"]["content"]["application/json"]["schema"]["$ref"]
    assert set(resolve(schema, ref)["properties"]) == {"items", "delay"}
    assert schema["paths"]["/async/tagging/order/"]["post"]["summary"] == "Order tagging"


def test_the_tagging_order_documents_json_entry_or_entries_a_file_and_raw_csv(schema):
    content = schema["paths"]["/async/tagging/order/"]["post"]["requestBody"]["content"]
    assert set(content) == {"application/json", "multipart/form-data", "text/csv"}
    one_of = resolve(schema, content["application/json"]["schema"]["$ref"])["oneOf"]
    variants = [resolve(schema, item["$ref"]) for item in one_of]
    assert [variant["required"] for variant in variants] == [["entry"], ["entries"]]
    assert variants[1]["properties"]["entries"]["type"] == "array"
    upload = resolve(schema, content["multipart/form-data"]["schema"]["$ref"])
    assert upload["required"] == ["file"] and upload["properties"]["file"]["format"] == "binary"
    assert content["text/csv"]["schema"]["format"] == "binary"


def test_placing_an_order_documents_its_codes_and_headers(schema):
    post = schema["paths"]["/async/tagging/order/"]["post"]
    assert set(post["responses"]) == {"200", "201", "202", "400", "401", "404", "413", "415", "422", "429"}
    assert {"Location", "Retry-After"} <= set(post["responses"]["202"]["headers"])
    assert {"Location", "Content-Location", "Preference-Applied"} <= set(post["responses"]["201"]["headers"])
    assert {"Content-Location", "Preference-Applied"} <= set(post["responses"]["200"]["headers"])
    assert "Retry-After" in post["responses"]["429"]["headers"]
    assert header_parameters(post) == {"Idempotency-Key", "Prefer"}
    assert post["responses"]["202"]["content"]["application/json"]["schema"]["$ref"].endswith("/Order")


def test_watching_and_cancelling_an_order_document_their_codes_and_headers(schema):
    item = schema["paths"]["/async/orders/{id}/"]
    get, delete = item["get"], item["delete"]
    assert set(get["responses"]) == {"200", "201", "202", "304", "401", "404", "410"}
    assert header_parameters(get) == {"Prefer", "If-None-Match"}
    assert "Location" in get["responses"]["201"]["headers"]
    assert "Retry-After" in get["responses"]["202"]["headers"]
    for code in ("200", "201", "202", "304"):
        assert {"ETag", "Preference-Applied"} <= set(get["responses"][code]["headers"])
    assert set(delete["responses"]) == {"200", "202", "401", "404", "409", "410"}


def test_retrying_an_order_documents_its_codes_and_headers(schema):
    post = schema["paths"]["/async/orders/{id}/retry/"]["post"]
    assert set(post["responses"]) == {"202", "401", "404", "409", "410", "429"}
    assert header_parameters(post) == {"Idempotency-Key"}
    assert {"Location", "Retry-After"} <= set(post["responses"]["202"]["headers"])
    assert "requestBody" not in post


def test_every_operation_documents_401_and_404_where_they_can_happen(schema):
    for path, item in schema["paths"].items():
        for method, operation in item.items():
            codes = set(operation["responses"])
            parameters = {(p["in"], p["name"]) for p in operation.get("parameters", [])}
            if path != "/healthz/":
                assert "401" in codes, (method, path)
            if "{" in path or ("query", "page") in parameters:
                assert "404" in codes, (method, path)
    assert "401" not in schema["paths"]["/healthz/"]["get"]["responses"]
    not_found = schema["paths"]["/tagging/logs/{id}/"]["get"]["responses"]["404"]
    assert not_found["content"]["application/json"]["schema"]["$ref"].endswith("/Detail")


def test_the_schema_endpoint_and_swagger_ui_need_no_login(client):
    response = client.get("/api/schema/")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/vnd.oai.openapi")
    assert b"/async/tagging/order/" in response.content


def test_swagger_ui_is_served_by_the_site_without_any_cdn(client):
    response = client.get("/api/docs/")
    assert response.status_code == 200
    html = response.content.decode()
    urls = re.findall(r'(?:src|href)="([^"]+)"', html)
    assert any(url.endswith("swagger-ui-bundle.js") for url in urls)
    assert not re.search(r"https?://|//cdn", html), "every asset comes from the site itself"
    for url in urls:
        assert url.startswith("/static/"), url
        asset = client.get(url)
        assert asset.status_code == 200, url
        asset.close()


def late(order):
    return "/late/"


def test_the_generic_order_path_still_serves_late_resources_and_refuses_unknown_ones(api):
    assert api.post("/async/no-such-resource/order/", {}, format="json").status_code == 404
    register("tests-late")(late)
    try:
        assert api.post("/async/tests-late/order/", {}, format="json").status_code == 202
    finally:
        unregister("tests-late")
    assert api.post("/async/tests-late/order/", {}, format="json").status_code == 404


def test_a_resource_path_answers_like_the_generic_one(api):
    response = api.post("/async/tests-sleep/order/", {"items": 2}, format="json")
    assert response.status_code == 202 and response.json()["resource"] == "tests-sleep"
    assert api.post("/async/tests-sleep/order/", {"items": 0}, format="json").status_code == 400


def resolve(schema: dict, ref: str) -> dict:
    return schema["components"]["schemas"][ref.rsplit("/", 1)[1]]


def header_parameters(operation: dict) -> set[str]:
    return {p["name"] for p in operation.get("parameters", []) if p["in"] == "header"}
