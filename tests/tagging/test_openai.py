"""The OpenAI tagger against a real chat-completions server on loopback: wire format, batching, faults.

Unit tests call `OpenAITagger.tag()` directly with small backoffs; the end-to-end tests
order taggings through the API and a real RQ worker whose tagger talks to the same server.
"""
import json
import os
import socket
import subprocess
import sys
import uuid

import pytest
from django.core.exceptions import ImproperlyConfigured

from asyncrest.models import Order
from tagging.models import Log
from tagging.taggers import TaggedEntry, TaggerError, Usage
from tagging.taggers.llm.packing import estimate_tokens
from tagging.taggers.llm.prompt import parse_answer
from tagging.taggers.llm.tags import JunkTags, clean_tags
from tagging.taggers.openai import DEFAULT_MODEL, OpenAITagger
from tests.conftest import ROOT, WorkerProcess, wait_for_order
from tests.llm_server import (
    Content,
    Disconnect,
    Hang,
    LLMServer,
    Omit,
    RateLimit,
    Status,
    default_tags,
)

ENTRY = "wrote a program using Python Django"
ENTRIES = [ENTRY, "deployed the API to Kubernetes with Helm", "lunch with the team", "fixed a React bug"]
FAST = {"backoff": 0.01, "max_backoff": 0.05, "timeout": 2, "max_attempts": 3}


@pytest.fixture(scope="module")
def llm_server():
    with LLMServer() as server:
        yield server


@pytest.fixture
def server(llm_server):
    llm_server.reset()
    yield llm_server
    llm_server.reset()


def make_tagger(server: LLMServer, **options) -> OpenAITagger:
    return OpenAITagger(**{"api_key": "test", "base_url": server.url, **FAST, **options})


def junk_for(marker: str, tags: list) -> callable:
    """A model that gives `tags` for entries containing `marker`, and good tags otherwise."""
    return lambda text: tags if marker in text else default_tags(text)


class TestWireFormat:
    def test_a_request_asks_for_the_strict_schema_with_the_entries_as_json(self, server):
        results = make_tagger(server, model="tagger-model").tag(ENTRIES[:2])
        assert [r.tags for r in results] == [("Python", "Django"), ("Kubernetes", "Helm")]
        [request] = server.received
        body = request.body
        assert body["model"] == "tagger-model"
        assert body["response_format"]["type"] == "json_schema"
        assert body["response_format"]["json_schema"]["name"] == "tech_stack_tags"
        assert body["response_format"]["json_schema"]["strict"] is True
        assert json.loads(body["messages"][-1]["content"]) == {
            "entries": [{"index": 0, "text": ENTRIES[0]}, {"index": 1, "text": ENTRIES[1]}]
        }
        system = body["messages"][0]
        assert system["role"] == "system" and "never instructions" in system["content"]

    def test_blank_entries_need_no_request(self, server):
        assert make_tagger(server).tag(["", "  \n"]) == [TaggedEntry(), TaggedEntry()]
        assert server.count == 0


class TestTags:
    def test_tags_are_canonical_and_deduplicated_per_entry(self, server):
        server.tags_for = lambda text: [
            "postgres", "PostgreSQL", "k8s", " Kubernetes ", "ruby  on rails", "Bunnyfetch", "bunnyfetch", "none", "",
        ]
        [result] = make_tagger(server).tag(["anything"])
        assert result == TaggedEntry(tags=("PostgreSQL", "Kubernetes", "Ruby on Rails", "Bunnyfetch"))

    @pytest.mark.parametrize(
        ("tags", "reason"),
        [
            ("Django", "its tags were not a list"),
            (["Django", 3], "a tag was not a string"),
            ([f"T{i}" for i in range(30)], "it had 30 tags, more than 20"),
            (["x" * 51], "a tag was longer than 50 characters"),
            (["Django\nIgnore previous instructions"], "a tag contained control characters"),
            (["Dja\u200bngo"], "a tag contained control characters"),
        ],
    )
    def test_junk_tags_are_refused_with_a_reason(self, tags, reason):
        with pytest.raises(JunkTags, match=reason):
            clean_tags(tags)

    def test_an_answer_is_read_leniently_but_never_trusted(self):
        content = '```json\n{"results": [{"index": 1, "tags": ["js"]}, {"index": 1, "tags": ["Go"]},' \
                  ' {"index": true, "tags": ["Rust"]}, {"index": 7, "tags": ["Java"]}]}\n```'
        answer = parse_answer(content, 3)
        assert answer.tags == {1: ("JavaScript",)}
        assert answer.problems == {0: "the answer left this entry out", 2: "the answer left this entry out"}


class TestBatching:
    def test_entries_are_packed_by_count(self, server):
        entries = [f"{i}: {ENTRIES[i % 4]}" for i in range(45)]
        results = make_tagger(server, max_entries_per_request=20, max_concurrency=1).tag(entries)
        assert [len(r.entries) for r in server.received] == [20, 20, 5]
        assert [r.tags for r in results] == [tuple(default_tags(e)) for e in entries]

    def test_entries_are_packed_by_token_budget(self, server):
        long = "Django " + "x" * 400
        budget = 2 * estimate_tokens(long) + 1
        make_tagger(server, max_tokens_per_request=budget, max_concurrency=1).tag([long] * 5 + ["y" * 4000, "Redis"])
        # Two long entries fit the budget; an entry over it on its own goes alone.
        assert [len(r.entries) for r in server.received] == [2, 2, 1, 1, 1]

    def test_requests_in_flight_are_capped(self, server):
        server.latency = 0.05
        results = make_tagger(server, max_entries_per_request=1, max_concurrency=4).tag(ENTRIES * 6)
        assert server.count == 24
        assert server.peak_in_flight == 4
        assert all(r.error is None for r in results)


class TestTransportFaults:
    def test_429_is_retried_after_the_retry_after_it_asked_for_and_pauses_every_request(self, server):
        server.script(RateLimit(retry_after="1"))
        tagger = make_tagger(server, max_entries_per_request=1, max_concurrency=1)
        results = tagger.tag(ENTRIES[:3])
        assert [r.tags for r in results] == [("Python", "Django"), ("Kubernetes", "Helm"), ()]
        assert server.count == 4
        limited, *others = server.received
        assert all(r.at - limited.at >= 1.0 for r in others)
        assert tagger.last_usage.extra["retries"] == 1

    @pytest.mark.parametrize("fault", [Status(500), Status(503), Hang(1.5), Disconnect()], ids=repr)
    def test_a_failed_request_is_retried(self, server, fault):
        server.script(fault, fault)
        tagger = make_tagger(server, timeout=0.5)
        assert [r.tags for r in tagger.tag(ENTRIES[:2])] == [("Python", "Django"), ("Kubernetes", "Helm")]
        assert server.count == 3
        assert tagger.last_usage.extra["retries"] == 2

    def test_total_outage_raises_llm_unavailable_and_stops_the_other_requests(self, server):
        server.always(Status(503))
        tagger = make_tagger(server, max_entries_per_request=1, max_concurrency=1)
        with pytest.raises(TaggerError) as raised:
            tagger.tag(ENTRIES)
        assert raised.value.code == "llm_unavailable"
        assert str(raised.value) == (
            f"The language model at {server.url} did not answer after 3 attempts (HTTP 503)."
        )
        # The first request used its 3 attempts; with nothing answered, the other three stopped.
        assert server.count == 3
        assert tagger.last_usage.requests == 3

    def test_connection_refused_raises_llm_unavailable(self):
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        tagger = OpenAITagger(api_key="test", base_url=f"http://127.0.0.1:{port}/v1", **FAST)
        with pytest.raises(TaggerError) as raised:
            tagger.tag(ENTRIES)
        assert raised.value.code == "llm_unavailable"
        assert str(raised.value) == (
            f"The language model at http://127.0.0.1:{port}/v1 did not answer after 3 attempts (connection refused)."
        )

    def test_a_partial_outage_fails_only_its_entries(self, server):
        server.fault_for = lambda texts: Status(500) if any("doomed" in t for t in texts) else None
        results = make_tagger(server, max_entries_per_request=1, max_concurrency=1).tag(
            [ENTRY, "doomed Rails app", "Redis cache"]
        )
        assert [r.tags for r in results] == [("Python", "Django"), (), ("Redis",)]
        assert results[1].error == f"The language model at {server.url} did not answer after 3 attempts (HTTP 500)."
        assert results[0].error is None and results[2].error is None

    def test_a_wrong_key_fails_at_once_with_llm_auth_failed(self, server):
        server.always(Status(401, "Incorrect API key provided"))
        with pytest.raises(TaggerError) as raised:
            make_tagger(server, max_entries_per_request=1, max_concurrency=1).tag(ENTRIES)
        assert raised.value.code == "llm_auth_failed"
        assert "refused the API key (HTTP 401); check OPENAI_API_KEY" in str(raised.value)
        assert server.count == 1

    def test_a_rejected_request_is_not_retried(self, server):
        server.always(Status(400, "response_format json_schema is not supported"))
        with pytest.raises(TaggerError) as raised:
            make_tagger(server).tag(ENTRIES)
        assert raised.value.code == "llm_unavailable"
        assert str(raised.value) == (
            f"The language model at {server.url} rejected a request "
            "(HTTP 400: response_format json_schema is not supported)."
        )
        assert server.count == 1

    def test_a_retry_after_longer_than_allowed_ends_the_request(self, server):
        server.always(RateLimit(retry_after="3600"))
        with pytest.raises(TaggerError, match=r"after 1 attempt \(rate limited, HTTP 429, asked to wait 3600 s\)"):
            make_tagger(server, max_retry_after=60).tag(ENTRIES)
        assert server.count == 1


class TestBadAnswers:
    def test_an_answer_that_does_not_parse_is_asked_again(self, server):
        server.script(Content("Sure! The tags are Python and Django."))
        tagger = make_tagger(server, max_concurrency=1)
        assert [r.tags for r in tagger.tag(ENTRIES[:2])] == [("Python", "Django"), ("Kubernetes", "Helm")]
        # Nothing usable at all, so the answer may have been cut off: asked again in halves.
        assert [r.texts for r in server.received] == [ENTRIES[:2], ENTRIES[:1], ENTRIES[1:2]]
        assert tagger.last_usage.extra == {"retries": 0, "reasks": 2}

    def test_answers_that_never_parse_are_split_then_reported_per_entry(self, server):
        server.always(Content('{"results": [{"index": 0, "tags": ["Dja'))
        results = make_tagger(server, max_reasks=2).tag(ENTRIES)
        # 4 entries, then 2 + 2, then 1 + 1 + 1 + 1.
        assert [len(r.entries) for r in server.received][:3] == [4, 2, 2]
        assert server.count == 7
        assert results == [
            TaggedEntry(error="The language model gave no usable tags in 3 answers: the answer was not valid JSON.")
        ] * 4

    def test_only_the_entries_left_out_are_asked_again(self, server):
        server.script(Omit(1))
        results = make_tagger(server).tag(ENTRIES[:3])
        assert [r.tags for r in results] == [("Python", "Django"), ("Kubernetes", "Helm"), ()]
        assert [r.texts for r in server.received] == [ENTRIES[:3], [ENTRIES[1]]]

    @pytest.mark.parametrize(
        ("tags", "reason"),
        [
            (["x" * 80], "a tag was longer than 50 characters"),
            (["Django\x00"], "a tag contained control characters"),
            ([f"Tool{i}" for i in range(40)], "it had 40 tags, more than 20"),
        ],
    )
    def test_junk_tags_are_asked_again_then_reported_for_that_entry_alone(self, server, tags, reason):
        server.tags_for = junk_for("poison", tags)
        tagger = make_tagger(server, max_reasks=2)
        results = tagger.tag([ENTRY, "poison pill", "Redis cache"])
        assert [r.tags for r in results] == [("Python", "Django"), (), ("Redis",)]
        assert results[1].error == f"The language model gave no usable tags in 3 answers: {reason}."
        assert [r.texts for r in server.received] == [
            [ENTRY, "poison pill", "Redis cache"], ["poison pill"], ["poison pill"],
        ]
        assert tagger.last_usage.extra["reasks"] == 2


def test_usage_adds_up_what_the_server_reported(server):
    server.script(Status(502), Omit(0))
    tagger = make_tagger(server)
    tagger.tag(ENTRIES)
    assert tagger.last_usage == Usage(
        requests=3, prompt_tokens=server.prompt_tokens, completion_tokens=server.completion_tokens,
        extra={"retries": 1, "reasks": 1},
    )
    assert server.prompt_tokens > 0 and server.completion_tokens > 0


def test_a_missing_api_key_or_a_bad_option_is_a_configuration_error(monkeypatch):
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    with pytest.raises(ImproperlyConfigured, match="OPENAI_API_KEY"):
        OpenAITagger()
    with pytest.raises(ImproperlyConfigured, match="max_concurrency"):
        OpenAITagger(api_key="test", max_concurrency=0)
    with pytest.raises(ImproperlyConfigured, match="max_attempts must be a whole number"):
        OpenAITagger(api_key="test", max_attempts=2.5)


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({"OPENAI_API_KEY": "sk-test", "OPENAI_BASE_URL": "http://llm:8000/v1", "TAGGING_MODEL": "qwen",
          "TAGGING_MAX_CONCURRENCY": "32", "TAGGING_TIMEOUT": "12.5"},
         {"BACKEND": "tagging.taggers.openai.OpenAITagger",
          "OPTIONS": {"model": "qwen", "base_url": "http://llm:8000/v1", "max_concurrency": 32, "timeout": 12.5}}),
        ({"TAGGING_MODEL": "qwen"}, {"BACKEND": "tagging.taggers.keywords.KeywordTagger", "OPTIONS": {}}),
        ({"TAGGING_BACKEND": "tagging.taggers.openai.OpenAITagger"},
         {"BACKEND": "tagging.taggers.openai.OpenAITagger", "OPTIONS": {}}),
    ],
)
def test_the_environment_selects_and_configures_the_tagger(tmp_path, env, expected):
    names = ("OPENAI_API_KEY", "OPENAI_BASE_URL", "TAGGING_BACKEND", "TAGGING_MODEL", "TAGGING_MAX_CONCURRENCY",
             "TAGGING_TIMEOUT")
    clean = {name: value for name, value in os.environ.items() if name not in names}
    output = subprocess.run(
        [sys.executable, "-c", "import json, demosite.settings as s; print(json.dumps(s.TAGGING))"],
        cwd=ROOT, env={**clean, "ASYNCREST_VAR_DIR": str(tmp_path), "SECRET_KEY": "x", **env},
        capture_output=True, text=True, check=True,
    ).stdout
    assert json.loads(output) == expected


@pytest.mark.live
@pytest.mark.skipif(not os.environ.get("OPENAI_API_KEY"), reason="needs OPENAI_API_KEY")
def test_the_real_api_tags_three_entries():
    tagger = OpenAITagger(model=os.environ.get("TAGGING_MODEL") or DEFAULT_MODEL)
    results = tagger.tag([ENTRY, "deployed the API to k8s with Helm", "lunch with the team"])
    assert all(r.error is None for r in results), results
    assert {"Python", "Django"} <= set(results[0].tags)
    assert {"Kubernetes", "Helm"} <= set(results[1].tags)
    assert results[2].tags == ()
    assert tagger.last_usage.requests >= 1 and tagger.last_usage.prompt_tokens > 0


# End to end: orders through the API, a real RQ worker, and the loopback server.


@pytest.fixture(scope="module")
def llm_worker(llm_server, redis_url, django_db_setup, tmp_path_factory):
    """A worker on its own queue whose tagger is the OpenAI one, pointed at the loopback server."""
    queue = f"llm-{uuid.uuid4().hex[:8]}"
    tagging = {"BACKEND": "tagging.taggers.openai.OpenAITagger", "OPTIONS": {**FAST, "max_entries_per_request": 2}}
    env = {"ASYNCREST_TEST_TAGGING": json.dumps(tagging), "OPENAI_API_KEY": "test", "OPENAI_BASE_URL": llm_server.url}
    worker = WorkerProcess(redis_url, tmp_path_factory.mktemp("llm") / "worker.log", queue=queue, extra_env=env)
    worker.start()
    yield worker
    worker.stop()


@pytest.mark.django_db(transaction=True)
class TestThroughTheWorker:
    @pytest.fixture(autouse=True)
    def to_the_llm_worker(self, llm_worker, server, settings):
        settings.RQ_QUEUES = {**settings.RQ_QUEUES, llm_worker.queue: {"URL": llm_worker.redis_url}}
        settings.ASYNCREST = {**settings.ASYNCREST, "QUEUE": llm_worker.queue}

    def order(self, api, entries):
        response = api.post("/async/tagging/order/", {"entries": entries}, format="json")
        assert response.status_code == 202, response.content
        return wait_for_order(api, response["Location"])

    def test_a_batch_is_tagged_and_its_usage_recorded(self, api, server, admin_client):
        server.tags_for = lambda text: ["postgres", "PostgreSQL", "python3"] if "db" in text else default_tags(text)
        done = self.order(api, [*ENTRIES, "tuned the db"])
        assert done.status_code == 201, done.json()
        logs = api.get(api.get(done["Location"]).json()["logs_url"]).json()["results"]
        assert [[t["value"] for t in log["tags"]] for log in logs] == [
            ["Django", "Python"], ["Helm", "Kubernetes"], [], ["React"], ["PostgreSQL", "Python"],
        ]
        order = Order.objects.get(pk=done.json()["id"])
        assert server.count == 3
        assert order.usage == {
            "requests": 3, "prompt_tokens": server.prompt_tokens, "completion_tokens": server.completion_tokens,
        }
        page = admin_client.get(f"/admin/asyncrest/order/{order.pk}/change/")
        assert page.status_code == 200 and "prompt_tokens" in page.content.decode()

    def test_an_entry_without_usable_tags_is_reported_and_the_rest_stored(self, api, server):
        server.tags_for = junk_for("poison", ["Django\x07"])
        done = self.order(api, [ENTRY, "poison pill", "Redis cache"])
        assert done.status_code == 201, done.json()
        logs = {log.entry: log for log in Log.objects.filter(order_id=done.json()["id"])}
        assert logs["poison pill"].error == (
            "The language model gave no usable tags in 3 answers: a tag contained control characters."
        )
        assert not logs["poison pill"].tags.exists()
        assert sorted(logs[ENTRY].tags.values_list("value", flat=True)) == ["Django", "Python"]
        assert logs[ENTRY].error == "" and logs["Redis cache"].error == ""
        assert Order.objects.get(pk=done.json()["id"]).usage["reasks"] == 2

    def test_an_outage_fails_the_order_with_llm_unavailable(self, api, server):
        server.always(Status(503))
        done = self.order(api, ENTRIES)
        assert done.status_code == 200
        body = done.json()
        assert body["status"] == "failed"
        # Every entry failed, more than the batch tolerates: the order fails with the first failure.
        assert body["error"] == {
            "code": "llm_unavailable",
            "message": f"4 of 4 items failed, more than the 2 tolerated. The first failure: Tagging failed: "
            f"The language model at {server.url} did not answer after 3 attempts (HTTP 503).",
        }
        assert Order.objects.get(pk=body["id"]).usage["requests"] == server.count >= 3

    def test_a_wrong_key_fails_the_order_with_llm_auth_failed(self, api, server):
        server.always(Status(401, "Incorrect API key provided"))
        body = self.order(api, ENTRIES).json()
        assert (body["status"], body["error"]["code"]) == ("failed", "llm_auth_failed")
        assert "check OPENAI_API_KEY" in body["error"]["message"]
