"""One log line per order transition, with id, resource, status and duration; no input, token or password in them."""
import logging
import os
import re
import subprocess
import sys
import time
import uuid

import pytest
from rest_framework.authtoken.models import Token

from tests.conftest import ROOT, wait_for_order

LINE = re.compile(r"order (?P<id>[0-9a-f-]{36}) resource=(?P<resource>\S+) status=(?P<status>\w+) "
                  r"duration=(?P<duration>\d+\.\d{3})s(?P<detail>.*)")


def transitions(order_id: str, caplog, worker=None, *, until: str, timeout: float = 10) -> list[dict]:
    """Return the transition lines of `order_id`, from this process and the worker's log, once `until` is there."""
    deadline = time.monotonic() + timeout
    while True:
        lines = [record.getMessage() for record in caplog.records]
        if worker is not None:
            lines += worker.log_path.read_text(errors="replace").splitlines()
        found = [m.groupdict() for line in lines if (m := LINE.search(line)) and m["id"] == order_id]
        if any(line["status"] == until for line in found) or time.monotonic() > deadline:
            return found


@pytest.fixture
def order_log(caplog):
    caplog.set_level(logging.INFO, logger="asyncrest")
    return caplog


@pytest.mark.django_db(transaction=True)
def test_a_completed_order_logs_each_transition_once_without_its_input_or_credentials(api, user, worker, order_log):
    private = f"private-entry-{uuid.uuid4().hex}"
    response = api.post("/async/tagging/order/", {"entry": f"wrote a program using Python Django {private}"},
                        format="json")
    order_id = response.json()["id"]
    assert wait_for_order(api, response["Location"]).json()["status"] == "completed"

    found = transitions(order_id, order_log, worker, until="completed")
    assert [line["status"] for line in found] == ["queued", "running", "completed"]
    assert {line["resource"] for line in found} == {"tagging"}
    assert all(float(line["duration"]) >= 0 for line in found)
    assert found[1]["detail"] == " attempt=1 batch=1"  # one-entry orders are coalesced, here a batch of one

    everything = "\n".join(r.getMessage() for r in order_log.records) + worker.log_path.read_text(errors="replace")
    assert private not in everything
    assert Token.objects.get(user=user).key not in everything
    assert "alice-password" not in everything


@pytest.mark.django_db(transaction=True)
def test_a_failed_order_logs_its_error_code(api, worker, order_log):
    order_id = api.post("/async/tests-job-error/order/", {}, format="json").json()["id"]
    found = transitions(order_id, order_log, worker, until="failed")
    assert [line["status"] for line in found] == ["queued", "running", "failed"]
    assert found[-1]["detail"].startswith(" code=empty_input: ")


@pytest.mark.django_db
def test_cancelling_a_queued_order_logs_it_once(api, order_log):
    location = api.post("/async/tests-sleep/order/", {"items": 1}, format="json")["Location"]
    order_id = location.rstrip("/").rsplit("/", 1)[1]
    assert api.delete(location).status_code == 200
    assert [line["status"] for line in transitions(order_id, order_log, until="cancelled")] == ["queued", "cancelled"]


@pytest.mark.parametrize(("value", "level"), [("WARNING", logging.WARNING), ("", logging.INFO)])
def test_the_log_level_comes_from_asyncrest_log_level(value, level):
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "tests.settings", "ASYNCREST_LOG_LEVEL": value}
    code = "import django, logging; django.setup(); print(logging.getLogger('asyncrest.orders').getEffectiveLevel())"
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert int(result.stdout) == level
