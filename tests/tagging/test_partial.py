"""A big CSV whose tagger fails in three of its ten parts: completed with those rows failed (or
failed, when strict), and a retry that tags just those rows. Real Redis, a real worker, a real upload.

The worker tags with `tests.taggers.FlakyTagger`: 100 entries a call, and a call holding an
entry with "POISON" fails while the file `down` exists; the part it is in then ends with its
remaining entries failed.
"""
import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from tagging.models import Batch, Log
from tests.conftest import start_private_worker, wait_for_order

pytestmark = pytest.mark.django_db(transaction=True)

ROWS = 10_000
#: CSV lines (the header is line 1) of the poisoned entries, in three different parts of 1,000.
POISONED = {1_502, 4_617, 8_950}
TOPICS = ["deployed the Django API on Kubernetes", "tuned PostgreSQL indexes", "fixed a React rendering bug",
          "lunch with the team", "wrote Terraform for the S3 buckets"]


def csv_of_rows() -> bytes:
    lines = ["entry"]
    for line in range(2, ROWS + 2):
        text = f"{line}: {TOPICS[line % len(TOPICS)]}"
        lines.append(f"{text} POISON" if line in POISONED else text)
    return ("\n".join(lines) + "\n").encode()


def failed_lines(line: int) -> set[int]:
    """The lines a poisoned `line` fails: from its tagger call (100 entries) to the end of its part
    (1,000 entries); line 2 is position 0."""
    start = (line - 2) // 100 * 100
    return {position + 2 for position in range(start, (line - 2) // 1000 * 1000 + 1000)}


@pytest.fixture
def down(tmp_path):
    path = tmp_path / "tagging-service-down"
    path.touch()
    return path


def flaky_worker(settings, redis_url, tmp_path, down, tolerate):
    tagging = {"BACKEND": "tests.taggers.FlakyTagger", "OPTIONS": {"down": str(down)}, "TOLERATE": tolerate}
    return start_private_worker(settings, redis_url, tmp_path / "flaky-worker.log", "partial",
                                ASYNCREST_TEST_TAGGING=json.dumps(tagging))


def upload(api):
    response = api.post("/async/tagging/order/", {"file": SimpleUploadedFile("logs.csv", csv_of_rows(), "text/csv")},
                        format="multipart")
    assert response.status_code == 202, response.json()
    return response["Location"]


def test_rows_the_tagger_cannot_tag_are_failed_and_their_retry_tags_just_those(api, settings, redis_url, tmp_path, down):
    worker = flaky_worker(settings, redis_url, tmp_path, down, 0.5)
    try:
        location = upload(api)
        final = wait_for_order(api, location, timeout=180)
        body = final.json()
        assert final.status_code == 201, body
        expected_failed = set().union(*(failed_lines(line) for line in POISONED))
        assert len(expected_failed) == 500 + 400 + 100
        assert body["counts"] == {"total": ROWS, "succeeded": ROWS - 1000, "failed": 1000}

        batch = api.get(final["Location"]).json()
        assert (batch["rows"], batch["tagged"], batch["failed"], batch["rejected"]) == (ROWS, ROWS - 1000, 1000, 0)
        assert {row["line"] for row in batch["failed_rows"]} == expected_failed
        assert {row["reason"] for row in batch["failed_rows"]} == {
            "Tagging failed: the tagging service is unavailable"
        }

        down.unlink()  # the service is back
        retry = api.post(f"{location}retry/")
        assert retry.status_code == 202, retry.json()
        redone = wait_for_order(api, retry["Location"], timeout=120)
        assert redone.status_code == 201, redone.json()
        assert redone.json()["retry_of"] == body["url"]
        assert redone.json()["counts"] == {"total": 1000, "succeeded": 1000, "failed": 0}
        second = api.get(redone["Location"]).json()
        assert (second["rows"], second["tagged"], second["failed"]) == (1000, 1000, 0)

        # The original's tagged rows and the retry's rows cover every row of the file exactly once.
        original_done = list(Log.objects.filter(order_id=body["id"], error="").values_list("line", flat=True))
        retried = list(Log.objects.filter(order_id=redone.json()["id"]).values_list("line", flat=True))
        assert sorted(original_done + retried) == list(range(2, ROWS + 2))
        assert Log.objects.filter(order_id=redone.json()["id"], tags__value="Django").count() == 200
        assert Batch.objects.get(order_id=body["id"]).failed == 1000, "the original's result stays as it was"
    finally:
        worker.stop()


def test_the_same_csv_fails_when_the_resource_tolerates_no_failure(api, settings, redis_url, tmp_path, down):
    worker = flaky_worker(settings, redis_url, tmp_path, down, 0)
    try:
        final = wait_for_order(api, upload(api), timeout=180)
        body = final.json()
        assert final.status_code == 200 and body["status"] == "failed", body
        assert body["error"] == {"code": "llm_unavailable",
                                 "message": "Tagging failed: the tagging service is unavailable"}

        down.unlink()
        retry = api.post(f"{body['url']}retry/")
        assert retry.status_code == 202
        redone = wait_for_order(api, retry["Location"], timeout=180)
        assert redone.status_code == 201, redone.json()
        retried = list(Log.objects.filter(order_id=redone.json()["id"]).values_list("line", flat=True))
        assert len(retried) == len(set(retried)) >= 100
        # The other parts stopped when the order failed, some rows still untagged: the retry redoes
        # those with the failed ones, and no row the original tagged.
        tagged = set(Log.objects.filter(order_id=body["id"], tags__isnull=False).values_list("line", flat=True))
        assert not tagged & set(retried), "a row the original tagged is tagged again"
        technical = {line for line in range(2, ROWS + 2) if TOPICS[line % len(TOPICS)] != "lunch with the team"}
        assert technical - tagged <= set(retried), "a row the original did not tag is left out of the retry"
        assert Log.objects.filter(order_id=redone.json()["id"], tags__isnull=False).exists()
    finally:
        worker.stop()
