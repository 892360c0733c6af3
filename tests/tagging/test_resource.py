"""The tagging resource end to end: order entries, poll, read logs, batches and tags."""
import time

import pytest
from rest_framework.test import APIClient

from asyncrest import lifecycle
from asyncrest.models import Order, Part
from asyncrest.testing import place_order, run_order_now
from asyncrest.worker.context import RunningOrder, RunningPart
from asyncrest.worker.fanout import start_parts
from tagging.jobs import finish_batch, tag_logs, tag_part
from tagging.models import Batch, Log, Tag
from tests.conftest import start_private_worker, wait_for_order

ENTRY = "wrote a program using Python Django"


def order_tagging(api, body):
    response = api.post("/async/tagging/order/", body, format="json")
    assert response.status_code == 202, response.content
    return response["Location"]


@pytest.fixture
def slow_worker(settings, redis_url, tmp_path):
    """A worker of a private queue whose tagger takes 3 ms per entry, so a batch's progress can be watched."""
    worker = start_private_worker(settings, redis_url, tmp_path / "slow-worker.log", "progress",
                                  ASYNCREST_TEST_TAGGER_DELAY="0.003")
    yield worker
    worker.stop()


@pytest.mark.django_db(transaction=True)
def test_a_batchs_progress_only_goes_up_from_storing_to_tagging(api, slow_worker):
    # Storing the rows comes first, then the tagging in parts: processed, total and progress
    # count the tagging alone, so a client's bar never jumps back when one phase ends.
    url = order_tagging(api, {"entries": [f"{i}: {ENTRY}" for i in range(1200)]})
    samples = []
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        body = api.get(url).json()
        samples.append((body["status"], body["processed"], body["total"], body["progress"], body["message"]))
        if body["status"] not in ("queued", "running"):
            break
        time.sleep(0.02)
    assert samples[-1][:4] == ("completed", 1200, 1200, 100.0), samples[-1]
    processed = [sample[1] for sample in samples]
    progress = [sample[3] for sample in samples]
    assert processed == sorted(processed) and progress == sorted(progress), samples
    assert all(sample[1] == 0 for sample in samples if sample[2] is None), "no count without a total"
    assert len({count for count in processed if 0 < count < 1200}) >= 3, f"the tagging moved: {samples}"


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("worker")
class TestThroughTheWorker:
    def test_one_entry_becomes_a_log_with_its_tags(self, api):
        done = wait_for_order(api, order_tagging(api, {"entry": ENTRY}))
        assert done.status_code == 201
        log_url = done["Location"]
        assert log_url.startswith("http://testserver/tagging/logs/")
        log = api.get(log_url)
        assert log.status_code == 200
        body = log.json()
        assert body["entry"] == ENTRY
        assert (done.json()["processed"], done.json()["total"]) == (1, 1)
        assert body["tags"] == [{"type": "tech-stack", "value": "Django"}, {"type": "tech-stack", "value": "Python"}]
        assert set(body) == {"id", "url", "entry", "timestamp", "tags"}

    def test_entries_become_a_batch(self, api):
        entries = [ENTRY, "deployed the API to Kubernetes with Helm", "lunch with the team", "fixed a React bug"]
        done = wait_for_order(api, order_tagging(api, {"entries": entries, "timestamp": "2026-11-02T09:30:00Z"}))
        assert done.status_code == 201
        assert done.json()["processed"] == 4 and done.json()["total"] == 4
        batch = api.get(done["Location"]).json()
        assert (batch["rows"], batch["tagged"], batch["rejected"], batch["rejected_rows"]) == (4, 4, 0, [])
        assert {"value": "Django", "count": 1} in batch["top_tags"]
        logs = api.get(batch["logs_url"]).json()
        assert [log["entry"] for log in logs["results"]] == entries
        assert [[t["value"] for t in log["tags"]] for log in logs["results"]] == [
            ["Django", "Python"], ["Helm", "Kubernetes"], [], ["React"],
        ]
        assert {log["timestamp"] for log in logs["results"]} == {"2026-11-02T09:30:00Z"}


@pytest.mark.django_db
class TestResults:
    @pytest.fixture
    def alice_log(self, user):
        order = run_order_now(place_order(user, "tagging", {"entry": ENTRY}))
        return Log.objects.get(order=order)

    def test_logs_filter_by_tag(self, api, alice_log):
        other = Log.objects.create(owner=alice_log.owner, entry="wrote docs")
        assert [log["id"] for log in api.get("/tagging/logs/?tag=django").json()["results"]] == [alice_log.pk]
        assert [log["id"] for log in api.get("/tagging/logs/?tag=python3").json()["results"]] == [alice_log.pk]
        assert api.get("/tagging/logs/?tag=Rust").json()["count"] == 0
        assert api.get("/tagging/logs/").json()["count"] == 2
        assert other.pk in [log["id"] for log in api.get("/tagging/logs/").json()["results"]]

    def test_tag_counts(self, api, alice_log):
        assert api.get("/tagging/tags/").json() == [
            {"type": "tech-stack", "value": "Django", "count": 1},
            {"type": "tech-stack", "value": "Python", "count": 1},
        ]

    def test_results_are_visible_to_their_owner_only(self, api, other_api, alice_log):
        batch = Batch.objects.create(owner=alice_log.owner)
        assert api.get(alice_log.get_absolute_url()).status_code == 200
        assert api.get(batch.get_absolute_url()).status_code == 200
        assert other_api.get(alice_log.get_absolute_url()).status_code == 404
        assert other_api.get(batch.get_absolute_url()).status_code == 404
        assert other_api.get("/tagging/logs/").json()["count"] == 0
        assert other_api.get("/tagging/logs/?tag=Django").json()["count"] == 0
        assert other_api.get("/tagging/tags/").json() == []
        for url in (alice_log.get_absolute_url(), "/tagging/logs/", "/tagging/tags/", batch.get_absolute_url()):
            assert APIClient().get(url).status_code == 401

    def test_running_each_step_twice_stores_nothing_twice(self, user):
        order = Order.objects.create(owner=user, resource="tagging", input={"entries": [ENTRY, "Redis and Celery"]})
        lifecycle.claim(order.pk, "lease-1")
        running = RunningOrder.from_row(Order.objects.get(pk=order.pk), "lease-1")
        first, second = tag_logs(running), tag_logs(running)
        assert first == second
        assert Log.objects.filter(order=order).count() == 2
        start_parts(running, first)
        (part,) = Part.objects.filter(order=order)
        lifecycle.claim_part(part.pk, "part-lease")
        running_part = RunningPart.from_row(Part.objects.get(pk=part.pk), "part-lease")
        tag_part(running, running_part)
        tag_part(running, running_part)
        assert Tag.objects.filter(log__order=order).count() == 4
        batch = finish_batch(running)
        assert (batch.rows, batch.tagged, batch.failed, batch.rejected) == (2, 2, 0, 0)


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "non_field_errors"),
        ({"entry": ENTRY, "entries": [ENTRY]}, "non_field_errors"),
        ({"entry": ""}, "entry"),
        ({"entry": 42.5, "timestamp": "yesterday"}, "timestamp"),
        ({"entries": []}, "entries"),
        ({"entries": "not a list"}, "entries"),
        ({"entries": [ENTRY, ""]}, "entries"),
        ({"entry": "x" * 10_001}, "entry"),
    ],
)
def test_bad_input_is_400_naming_the_field(api, body, field):
    response = api.post("/async/tagging/order/", body, format="json")
    assert response.status_code == 400
    assert field in response.json(), response.json()
    assert not Order.objects.exists()


@pytest.mark.django_db
def test_too_many_entries_is_400_pointing_to_csv(api, settings):
    settings.TAGGING_MAX_ENTRIES = 3
    response = api.post("/async/tagging/order/", {"entries": ["a", "b", "c", "d"]}, format="json")
    assert response.status_code == 400
    assert "CSV" in response.json()["entries"][0]


@pytest.mark.django_db
def test_logs_of_a_batch_that_is_not_a_uuid_is_400(api):
    # Was a 500: the filter passed the text to the UUID column as it was.
    response = api.get("/tagging/logs/?batch=null")
    assert response.status_code == 400
    assert "batch" in response.json()


@pytest.mark.django_db
@pytest.mark.parametrize("tag", ["\x00", "Django\x00", "\x1b[2J", "\x7f"])
def test_a_tag_filter_with_control_characters_is_400_even_without_the_sites_middleware(api, engine_alone, tag):
    response = api.get("/tagging/logs/", {"tag": tag})
    assert response.status_code == 400
    assert "tag" in response.json()
