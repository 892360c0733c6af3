"""CORS for browser frontends on other origins: `CORS_ALLOWED_ORIGINS`, the headers they may send and read."""
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.django_db

ORIGIN = "https://frontend.example"
REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(autouse=True)
def allowed(settings):
    settings.CORS_ALLOWED_ORIGINS = [ORIGIN]


def test_preflight_allows_the_headers_of_the_order_and_poll_cycle(client):
    response = client.options(
        "/async/tagging/order/", HTTP_ORIGIN=ORIGIN, HTTP_ACCESS_CONTROL_REQUEST_METHOD="POST",
        HTTP_ACCESS_CONTROL_REQUEST_HEADERS="authorization, content-type, idempotency-key, prefer, if-none-match",
    )
    assert response.status_code == 200
    assert response["Access-Control-Allow-Origin"] == ORIGIN
    allowed = {name.strip() for name in response["Access-Control-Allow-Headers"].split(",")}
    assert {"authorization", "content-type", "idempotency-key", "prefer", "if-none-match"} <= allowed
    assert "POST" in response["Access-Control-Allow-Methods"] and "DELETE" in response["Access-Control-Allow-Methods"]
    assert "Access-Control-Allow-Credentials" not in response, "cross-origin callers use tokens, not cookies"


def test_answers_expose_location_and_retry_after(api):
    response = api.post("/async/tests-sleep/order/", {"items": 1}, format="json", HTTP_ORIGIN=ORIGIN)
    assert response.status_code == 202
    assert response["Access-Control-Allow-Origin"] == ORIGIN
    exposed = {name.strip() for name in response["Access-Control-Expose-Headers"].split(",")}
    assert {"Location", "Retry-After", "ETag", "Preference-Applied"} <= exposed


def test_other_origins_get_no_cors_headers(api):
    response = api.post("/async/tests-sleep/order/", {"items": 1}, format="json", HTTP_ORIGIN="https://evil.example")
    assert "Access-Control-Allow-Origin" not in response


def test_the_admin_is_not_open_to_other_origins(client):
    response = client.get("/admin/login/", HTTP_ORIGIN=ORIGIN)
    assert "Access-Control-Allow-Origin" not in response


def test_the_origins_come_from_the_environment():
    code = "import demosite.settings as s; print(s.CORS_ALLOWED_ORIGINS)"
    env = {**os.environ, "CORS_ALLOWED_ORIGINS": "https://a.example, http://localhost:5173"}
    done = subprocess.run([sys.executable, "-c", code], cwd=REPO, env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "['https://a.example', 'http://localhost:5173']"
