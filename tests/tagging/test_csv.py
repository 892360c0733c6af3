"""CSV uploads: errors at the door, errors per row, German Excel files, results and export."""
import csv
import errno
import io

import pytest
from django.core.files.storage import FileSystemStorage, default_storage
from django.core.files.uploadedfile import SimpleUploadedFile

from asyncrest import lifecycle
from asyncrest.models import Order
from asyncrest.worker.context import RunningOrder
from tagging.jobs import tag_logs
from tagging.models import Batch, Log, RejectedRow
from tagging.uploads import (
    UploadError,
    check_upload,
    read_rows,
    save_upload,
    upload_path,
)
from tests.conftest import wait_for_order

GOOD = "entry,timestamp\nwrote a program using Python Django,2026-11-02T09:30:00Z\nfixed the Redis cache,\n"


def store(content: bytes, order_id="stored") -> dict:
    """Check and store `content` as an accepted order's upload would be; return its path and layout."""
    checked = check_upload(io.BytesIO(content))
    return {**checked, "path": save_upload(io.BytesIO(content), order_id)}


def upload(api, content: bytes, name="logs.csv", **extra):
    return api.post("/async/tagging/order/", {"file": SimpleUploadedFile(name, content, "text/csv"), **extra},
                    format="multipart")


def raw(api, content: bytes, content_type="text/csv"):
    return api.post("/async/tagging/order/", content, content_type=content_type)


@pytest.mark.django_db
class TestAtTheDoor:
    def test_a_multipart_file_is_accepted(self, api):
        response = upload(api, GOOD.encode())
        assert response.status_code == 202
        order = Order.objects.get()
        assert order.input["csv"]["filename"] == "logs.csv"
        assert order.input["csv"]["layout"] == {"delimiter": ",", "entry": 0, "timestamp": 1, "columns": 2}

    def test_a_raw_text_csv_body_is_accepted(self, api):
        response = raw(api, GOOD.encode())
        assert response.status_code == 202
        assert Order.objects.get().input["csv"]["size"] == len(GOOD.encode())

    def test_no_entry_column_is_400_naming_the_header(self, api):
        response = upload(api, b"text,when\nhello,now\n")
        assert response.status_code == 400
        assert response.json() == {"file": ["Line 1 (the header) has no `entry` column; it has 'text', 'when'."]}
        assert not Order.objects.exists()

    def test_an_empty_file_is_400(self, api):
        for content in (b"", b"\n\n"):
            response = upload(api, content)
            assert response.status_code == 400
            assert response.json()["file"] == ["The file is empty: expected a header row with an `entry` column."]

    def test_undecodable_bytes_are_400_naming_the_line(self, api):
        response = upload(api, b"entry\nfine\nbad \xff byte\n")
        assert response.status_code == 400
        assert response.json()["file"] == ["Line 3 is not valid UTF-8 (byte 0xff)."]

    def test_a_latin1_file_is_refused_not_misread(self, api):
        response = upload(api, "entry\nGrüße aus München\n".encode("latin-1"))
        assert response.status_code == 400
        assert response.json()["file"][0].startswith("Line 2 is not valid UTF-8")

    def test_a_body_over_the_limit_is_413(self, api, settings):
        settings.ASYNCREST = {**settings.ASYNCREST, "MAX_UPLOAD_SIZE": 50}
        response = raw(api, GOOD.encode() * 3)
        assert response.status_code == 413
        assert "limit is 50 bytes" in response.json()["detail"]
        assert not Order.objects.exists()

    def test_a_file_over_the_limit_is_refused_while_it_is_checked(self, settings):
        settings.ASYNCREST = {**settings.ASYNCREST, "MAX_UPLOAD_SIZE": 100_000}
        with pytest.raises(UploadError) as raised:
            check_upload(io.BytesIO(b"entry\n" + b"x" * 200_000))
        assert raised.value.status == 413
        assert str(raised.value) == "The file is larger than the limit of 100,000 bytes."

    def test_an_unsupported_media_type_is_415(self, api):
        response = raw(api, b"PK\x03\x04", content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
        assert response.status_code == 415

    def test_a_file_and_entries_together_are_400(self, api):
        response = upload(api, GOOD.encode(), entry="one more")
        assert response.status_code == 400
        assert "non_field_errors" in response.json()


@pytest.mark.parametrize(
    ("content", "delimiter"),
    [
        (b"entry;timestamp\r\na;b\r\n", ";"),
        (b"\xef\xbb\xbfEntry;Timestamp\r\na;b\r\n", ";"),
        (b"timestamp\tentry\nb\ta\n", "\t"),
        (b"ENTRY\na\n", ","),
    ],
)
def test_delimiter_bom_and_header_case_are_recognised(content, delimiter, tmp_path, settings):
    settings.MEDIA_ROOT = tmp_path
    stored = store(content)
    assert stored["layout"]["delimiter"] == delimiter
    (row,) = list(read_rows(stored["path"], stored["layout"]))
    assert (row.line, row.entry) == (2, "a")


def test_quoted_fields_with_newlines_keep_their_starting_line(tmp_path, settings):
    settings.MEDIA_ROOT = tmp_path
    content = b'entry\n"first line\nsecond line"\n\nplain\n'
    stored = store(content)
    rows = list(read_rows(stored["path"], stored["layout"]))
    assert [(row.line, row.entry) for row in rows] == [(2, "first line\nsecond line"), (5, "plain")]


GERMAN_EXCEL = (
    "\ufeffEintrag;Entry;Timestamp\r\n"
    'x;"REST-API mit Django und PostgreSQL gebaut; Tests grün";2026-11-02 09:30\r\n'
    'x;"Bug im React-Frontend behoben,\r\nDeployment auf Kubernetes";2026-11-03T14:00:00+01:00\r\n'
    "x;;2026-11-04 10:00\r\n"
    "x;Docker-Image verkleinert;02.11.2026 09:30\r\n"
    f"x;{'sehr lang ' * 1001};\r\n"
    "x\r\n"
    "x;Redis-Cache eingeführt;\r\n"
).encode("utf-8")


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("worker")
class TestThroughTheWorker:
    def test_a_german_excel_file_is_tagged_and_bad_rows_are_listed(self, api):
        location = upload(api, GERMAN_EXCEL, name="Protokoll.csv")["Location"]
        done = wait_for_order(api, location)
        assert done.status_code == 201, done.json()
        batch = api.get(done["Location"]).json()
        assert (batch["rows"], batch["tagged"], batch["failed"], batch["rejected"]) == (7, 3, 0, 4)
        assert batch["filename"] == "Protokoll.csv"
        assert batch["rejected_rows"] == [
            {"line": 5, "reason": "the entry is empty"},
            {"line": 6, "reason": "the timestamp '02.11.2026 09:30' is not an ISO 8601 date and time"},
            {"line": 7, "reason": "the entry is 10,010 characters long; the limit is 10,000"},
            {"line": 8, "reason": "the row has no `entry` field"},
        ]
        logs = api.get(batch["logs_url"]).json()["results"]
        assert [[tag["value"] for tag in log["tags"]] for log in logs] == [
            ["Django", "PostgreSQL"], ["Kubernetes", "React"], ["Redis"],
        ]
        assert [log["timestamp"] for log in logs][:2] == ["2026-11-02T09:30:00Z", "2026-11-03T13:00:00Z"]
        assert {"value": "Django", "count": 1} in batch["top_tags"]
        assert str(Batch.objects.get(pk=batch["id"]).order_id) == done.json()["id"]
        # The upload was kept until the order ended, and not a moment longer.
        assert not default_storage.exists(upload_path(done.json()["id"]))

    def test_the_export_is_a_safe_csv_of_entries_timestamps_and_tags(self, api, other_api):
        content = "entry,timestamp\n=HYPERLINK(\"http://x\") Python,\n+Django and -Flask,\n@Rust CLI,\n".encode()
        done = wait_for_order(api, upload(api, content)["Location"])
        batch = api.get(done["Location"]).json()
        response = api.get(batch["export_url"])
        assert response.status_code == 200
        assert response["Content-Type"] == "text/csv; charset=utf-8"
        assert 'filename="batch-' in response["Content-Disposition"]
        text = b"".join(response.streaming_content).decode("utf-8")
        assert text.startswith("\ufeff")
        rows = list(csv.reader(io.StringIO(text.lstrip("\ufeff"))))
        assert rows[0] == ["line", "entry", "timestamp", "tags", "error"]
        assert [row[1] for row in rows[1:]] == ["'=HYPERLINK(\"http://x\") Python", "'+Django and -Flask", "'@Rust CLI"]
        assert [row[0] for row in rows[1:]] == ["2", "3", "4"]
        assert rows[1][3] == "Python"
        assert other_api.get(batch["export_url"]).status_code == 404

    def test_many_rows_are_tagged_in_parts_by_the_workers(self, api, settings):
        lines = "".join(f"row {i}: tuned PostgreSQL for the Django app\n" for i in range(2500))
        done = wait_for_order(api, upload(api, f"entry\n{lines}".encode())["Location"], timeout=60)
        assert done.status_code == 201
        assert (done.json()["processed"], done.json()["total"]) == (2500, 2500)
        assert Order.objects.get(pk=done.json()["id"]).parts.count() == 3
        batch = api.get(done["Location"]).json()
        assert (batch["rows"], batch["tagged"], batch["rejected"]) == (2500, 2500, 0)
        assert batch["top_tags"][:2] == [{"value": "Django", "count": 2500}, {"value": "PostgreSQL", "count": 2500}]


@pytest.mark.django_db
def test_reading_a_csv_twice_stores_each_row_once(user, tmp_path, settings):
    settings.MEDIA_ROOT = tmp_path
    content = b"entry\nDjango\n\nRedis\n,\n"
    order = Order.objects.create(
        owner=user, resource="tagging", input={"csv": {**check_upload(io.BytesIO(content)), "filename": "x.csv"}}
    )
    save_upload(io.BytesIO(content), order.pk)
    lifecycle.claim(order.pk, "lease-1")
    running = RunningOrder.from_row(Order.objects.get(pk=order.pk), "lease-1")
    assert tag_logs(running) == tag_logs(running)
    assert list(Log.objects.filter(order=order).order_by("position").values_list("position", "line", "entry")) == [
        (0, 2, "Django"), (1, 4, "Redis"),
    ]
    assert list(RejectedRow.objects.values_list("line", "reason")) == [(5, "the entry is empty")]


@pytest.mark.django_db
class TestNothingLeftBehind:
    """An upload is stored only for an accepted order, and removed when that order ends, whatever the end."""

    @pytest.fixture(autouse=True)
    def media(self, tmp_path, settings):
        settings.MEDIA_ROOT = tmp_path
        return tmp_path

    def stored(self, media) -> list[str]:
        return sorted(path.name for path in (media / "uploads").glob("*")) if (media / "uploads").exists() else []

    @pytest.mark.parametrize(
        ("content", "extra", "status"),
        [
            (GOOD.encode(), {"entry": "one more"}, 400),  # a file and an entry: refused after the file was checked
            (b"", {}, 400),  # empty
            (b"name\nx\n", {}, 400),  # no entry column
            (b"entry\n\xff\n", {}, 400),  # not UTF-8
            (GOOD.encode(), {"timestamp": "not a time"}, 400),  # another field is wrong
        ],
    )
    def test_a_refused_upload_stores_nothing(self, api, media, content, extra, status):
        assert upload(api, content, **extra).status_code == status
        assert self.stored(media) == []
        assert not Order.objects.exists()

    def test_an_upload_over_the_limit_stores_nothing(self, api, media, settings):
        settings.ASYNCREST = {**settings.ASYNCREST, "MAX_UPLOAD_SIZE": 60}
        assert upload(api, GOOD.encode() * 2).status_code == 413
        assert self.stored(media) == []

    def test_an_idempotent_replay_and_a_reused_key_store_nothing_more(self, api, media):
        def keyed(content: bytes):
            return api.post("/async/tagging/order/", content, content_type="text/csv", HTTP_IDEMPOTENCY_KEY="k-1")

        first = keyed(GOOD.encode())
        assert first.status_code == 202
        replay = keyed(GOOD.encode())
        assert (replay.status_code, replay["Idempotent-Replayed"]) == (202, "true")
        assert keyed(GOOD.encode() + b"another row,\n").status_code == 422
        assert self.stored(media) == [f"{first.json()['id']}.csv"]

    @pytest.mark.parametrize("end", ["cancelled", "failed", "completed"])
    def test_the_upload_goes_when_its_order_ends(self, api, media, end, django_capture_on_commit_callbacks):
        order_id = upload(api, GOOD.encode()).json()["id"]
        assert self.stored(media) == [f"{order_id}.csv"]
        with django_capture_on_commit_callbacks(execute=True):
            if end == "cancelled":
                assert api.delete(f"/async/orders/{order_id}/").status_code == 200
            else:
                assert lifecycle.claim(order_id, "lease")
                if end == "failed":
                    assert lifecycle.fail(order_id, "tagging_failed", "Tagging failed", lease="lease")
                else:
                    assert lifecycle.complete(order_id, "/tagging/batches/x/", lease="lease")
        assert self.stored(media) == []

    def test_an_order_whose_row_cannot_be_written_leaves_no_upload(self, api, media, monkeypatch):
        from django.db import IntegrityError

        def refuse(order, **kwargs):
            raise IntegrityError("simulated")

        monkeypatch.setattr(lifecycle, "place", refuse)
        with pytest.raises(IntegrityError):
            upload(api, GOOD.encode())
        assert self.stored(media) == []


class FullStorage(FileSystemStorage):
    """A storage whose disk is full: every save fails with ENOSPC, as a full uploads volume does."""

    def _save(self, name, content):
        raise OSError(errno.ENOSPC, "No space left on device")


@pytest.mark.django_db
def test_an_upload_when_the_disk_is_full_is_a_json_507_and_places_no_order(api, settings, tmp_path):
    settings.STORAGES = {**settings.STORAGES, "default": {"BACKEND": "tests.tagging.test_csv.FullStorage",
                                                          "OPTIONS": {"location": str(tmp_path)}}}
    response = upload(api, GOOD.encode())
    assert response.status_code == 507
    assert response["Content-Type"] == "application/json"
    assert "no room" in response.json()["detail"]
    assert not Order.objects.exists()
    assert list(tmp_path.rglob("*.csv")) == []
