"""Hostile CSV uploads: a header line that costs the request nothing much, single bad rows that are
rejected alone while the rest is tagged, and an export whose cells no spreadsheet runs."""
import csv
import io
import time

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from asyncrest.testing import run_order_now
from tagging.uploads import (
    CHUNK,
    SNIFF_BYTES,
    UploadError,
    check_upload,
    csv_reader,
    find_delimiter,
    find_layout,
    read_rows,
    rows_of,
    save_upload,
)
from tagging.views import spreadsheet_safe
from tests.conftest import wait_for_order

MB = 1024 * 1024
HEADER = "id,entry,timestamp\n"
FIRST = "1,wrote a program using Python Django,2026-11-02T09:30:00Z\n"
LAST = "9,fixed the Redis cache,\n"
OUT_OF_RANGE = "is out of range: it must be from 1000-01-01 to 9999-12-30 (UTC)"
NOT_ISO = "is not an ISO 8601 date and time"
BAD_QUOTE = (
    'a quoted field is followed by more text before the next delimiter (a `"` inside a quoted field is written `""`)'
)


def upload(api, content: bytes, name="logs.csv"):
    return api.post("/async/tagging/order/", {"file": SimpleUploadedFile(name, content, "text/csv")},
                    format="multipart")


def tag_here(api, content: bytes) -> dict:
    """Order a tagging of `content` over the API, run it here as a worker would, and return its batch over the API."""
    placed = upload(api, content)
    assert placed.status_code == 202, placed.json()
    run_order_now(placed.json()["id"])
    done = api.get(placed["Location"])
    assert done.status_code == 201, done.json()
    return api.get(done["Location"]).json()


@pytest.fixture
def media(tmp_path, settings):
    settings.MEDIA_ROOT = tmp_path
    return tmp_path


# 1. The header line: linear, bounded work in the request.

ONE_MB_LINES = {
    "many commas": "entry," + "a," * MB,
    "every delimiter": "entry," + "a,b;c\td " * MB,
    "many quoted fields": "entry," + '"x;y",' * MB,
    "only quotes": "entry," + '"' * MB,
    "a quote never closed": 'entry,"' + "x;" * MB,
    "one huge field": "entry," + "x" * MB,
    "what the Sniffer choked on": "entry," + "'a'," * MB,
}


@pytest.mark.parametrize("line", [line[:MB] for line in ONE_MB_LINES.values()], ids=list(ONE_MB_LINES))
def test_a_1_mb_header_line_costs_linear_time(line):
    start = time.perf_counter()
    find_delimiter(line)
    with pytest.raises(UploadError, match=r"^Line 1 \(the header\) does not end within the first 65,536 bytes"):
        find_layout(line + "\nsome entry\n")
    # The real figure is a few milliseconds (docs/tagging.md); the bound is loose for busy CI machines.
    assert time.perf_counter() - start < 0.5


@pytest.mark.django_db
def test_the_door_refuses_a_header_line_longer_than_its_head_naming_line_1(api, media):
    response = upload(api, ("entry," + "a," * MB + "\nwrote Python\n").encode())
    assert response.status_code == 400
    assert response.json() == {"file": [(
        "Line 1 (the header) does not end within the first 65,536 bytes of the file; "
        "a header is one line of column names, such as `entry,timestamp`."
    )]}


@pytest.mark.django_db
def test_a_header_line_that_ends_within_the_head_is_read(media):
    header = "a;" * ((SNIFF_BYTES - 100) // 2) + "entry"
    checked = check_upload(io.BytesIO(f"{header}\n{'x;' * (SNIFF_BYTES // 4)}Django\n".encode() * 2))
    assert checked["layout"] == {"delimiter": ";", "entry": (SNIFF_BYTES - 100) // 2, "timestamp": None,
                                 "columns": (SNIFF_BYTES - 100) // 2 + 1}


@pytest.mark.parametrize(
    ("header", "delimiter"),
    [
        ("entry", ","),  # a single column
        ("ENTRY,Timestamp", ","),
        ("entry;timestamp", ";"),
        ("timestamp\tentry", "\t"),
        ('"a,b";"c,d";entry', ";"),  # delimiters inside quoted fields do not count
        ('"x;y"\t"z;w"\tentry', "\t"),
        ('"say ""a,b""";entry', ";"),  # nor do those between doubled quotes
        ('size 5",entry,"a;b;c"', ","),  # a quote inside an unquoted field is a letter, as for csv
        ("a;b,entry", ","),  # a tie goes to the first of , ; tab
        ("entry;a;b\tc\td", ";"),
        ("a,b;c;entry", ";"),  # the most frequent wins
    ],
)
def test_the_delimiter_is_the_most_frequent_outside_quotes(header, delimiter):
    assert find_delimiter(header + "\nrow,with;other\tdelimiters\n") == delimiter
    assert find_layout(header + "\n").delimiter == delimiter


def test_a_quoted_header_field_may_hold_a_line_break_and_rows_keep_their_lines(media):
    content = b'"notes\n(two lines)";entry;timestamp\r\nx;Django;\r\n\r\nx;Redis;2026-11-02T10:00\r\n'
    checked = check_upload(io.BytesIO(content))
    assert checked["layout"] == {"delimiter": ";", "entry": 1, "timestamp": 2, "columns": 3}
    path = save_upload(io.BytesIO(content), "quoted-header")
    assert [(row.line, row.entry) for row in read_rows(path, checked["layout"])] == [(3, "Django"), (5, "Redis")]


def test_a_file_with_cr_line_ends_is_read_line_by_line(media):
    content = b"entry;timestamp\rDjango;\rRedis;2026-11-02T10:00\r"
    checked = check_upload(io.BytesIO(content))
    assert checked["layout"]["delimiter"] == ";"
    path = save_upload(io.BytesIO(content), "cr")
    assert [(row.line, row.entry) for row in read_rows(path, checked["layout"])] == [(2, "Django"), (3, "Redis")]


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b'"entry"x,timestamp\nDjango,\n', f"Line 1 (the header) cannot be read: {BAD_QUOTE}."),
        (b'entry,"timestamp\nDjango,\n',
         "Line 1 (the header) cannot be read: a quoted field is never closed: the file ends inside it."),
    ],
)
@pytest.mark.django_db
def test_a_header_the_reader_cannot_read_is_400_naming_line_1(api, media, content, message):
    response = upload(api, content)
    assert response.status_code == 400
    assert response.json() == {"file": [message]}


def test_a_header_without_entry_is_named_in_a_bounded_answer():
    with pytest.raises(UploadError) as raised:
        find_layout(",".join(f"column {i}" for i in range(5000)) + "\n")
    assert str(raised.value) == (
        "Line 1 (the header) has no `entry` column; it has 'column 0', 'column 1', 'column 2', 'column 3', "
        "'column 4', 'column 5', 'column 6', 'column 7', 'column 8', 'column 9' and 4,990 more."
    )


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("content", "message"),
    [
        # A UTF-16 surrogate encoded as UTF-8 (CESU-8): Python's strict decoder refuses it.
        (b"entry\nfine\nbad \xed\xa0\x80 surrogate\n", "Line 3 is not valid UTF-8 (byte 0xed)."),
        # The error just after a character split between two chunks: still its own line.
        (b"entry\n" + b"a" * (CHUNK - 8) + b"\xe2\x82\xac\xff\nmore\n", "Line 2 is not valid UTF-8 (byte 0xff)."),
        (b"entry\nfine\ncut \xe2\x82", "Line 3 ends in the middle of a UTF-8 character."),
    ],
)
def test_invalid_utf8_such_as_a_lone_surrogate_is_400_naming_the_line(api, media, content, message):
    response = upload(api, content)
    assert response.status_code == 400
    assert response.json() == {"file": [message]}


# 2. One bad row is one rejected row: the others are tagged and the order completes.

#: A bad row between two good ones, and the reason it gets (None: the row is good after all).
BAD_ROWS = {
    "an entry over the length limit": (
        "2," + "x" * 10_001 + ",", "the entry is 10,001 characters long; the limit is 10,000"),
    "a field over csv's field_size_limit": (
        "2," + "y" * 200_000 + ",", "the entry is 200,000 characters long; the limit is 10,000"),
    "a huge timestamp field": ("2,Django," + "9" * 200_000, f"the timestamp '{'9' * 40}…' {NOT_ISO}"),
    "year 1": ("2,Django,0001-01-01", f"the timestamp '0001-01-01' {OUT_OF_RANGE}"),
    "after year 9999 in UTC": (
        "2,Django,9999-12-31T23:59:59-23:59", f"the timestamp '9999-12-31T23:59:59-23:59' {OUT_OF_RANGE}"),
    "before year 1 in UTC": (
        "2,Django,0001-01-01T00:00:00+01:00", f"the timestamp '0001-01-01T00:00:00+01:00' {OUT_OF_RANGE}"),
    "too late to show in every time zone": (
        "2,Django,9999-12-31T12:00Z", f"the timestamp '9999-12-31T12:00Z' {OUT_OF_RANGE}"),
    "February 30": (
        "2,Django,2026-02-30", "the timestamp '2026-02-30' is not a date that exists (day is out of range for month)"),
    "month 13": (
        "2,Django,2026-13-01T00:00",
        "the timestamp '2026-13-01T00:00' is not a date that exists (month must be in 1..12)"),
    "hour 25": ("2,Django,2026-11-02T25:00", f"the timestamp '2026-11-02T25:00' {NOT_ISO}"),
    "an offset of a day": ("2,Django,2026-11-02T10:00+24:00", f"the timestamp '2026-11-02T10:00+24:00' {NOT_ISO}"),
    "a 10,000-digit year": ("2,Django," + "2" * 10_000 + "-01-01", f"the timestamp '{'2' * 40}…' {NOT_ISO}"),
    "year 0": ("2,Django,0000-01-01", "the timestamp '0000-01-01' is not a date that exists (year 0 is out of range)"),
    "a NUL in the entry": ("2,Dja\x00ngo,", "the entry contains a NUL character"),
    "a NUL in the timestamp": ("2,Django,2026-11-02T10:00\x00", "the timestamp contains a NUL character"),
    "more fields than the header": (
        "2,Django, Flask and Celery,2026-11-02T10:00",
        "the row has 4 fields but the header has 3: a field that contains `,` must be in double quotes"),
    "fewer fields than the entry column": ("2", "the row has no `entry` field"),
    "an empty entry": ("2,,2026-11-02T10:00", "the entry is empty"),
    "an entry of spaces": ("2,   ,", "the entry is empty"),
    "a row of only delimiters": (",,,,", "the entry is empty"),
    "text after a closing quote": ('2,"Django" and Flask,', f"the row cannot be read: {BAD_QUOTE}"),
    "a header row again": ("id,entry,timestamp", f"the timestamp 'timestamp' {NOT_ISO}"),
    # Good after all: a date alone is midnight UTC (ISO 8601, as for the order's own `timestamp`),
    # a timestamp of spaces is the order's time (it used to fail the order), trailing delimiters
    # are nothing, and a row without the timestamp field has none.
    "a date alone": ("2,Django,2026-11-02", None),
    "a timestamp of spaces": ("2,Django,   ", None),
    "trailing empty fields": ("2,Django,2026-11-02T10:00,,, ", None),
    "no timestamp field": ("2,Django", None),
}


@pytest.mark.django_db
@pytest.mark.parametrize(("row", "reason"), BAD_ROWS.values(), ids=list(BAD_ROWS))
def test_a_bad_row_alone_is_rejected_and_the_rest_tagged(api, media, row, reason):
    batch = tag_here(api, f"{HEADER}{FIRST}{row}\n{LAST}".encode())
    if reason is None:
        assert (batch["rows"], batch["tagged"], batch["rejected"], batch["rejected_rows"]) == (3, 3, 0, [])
    else:
        assert (batch["rows"], batch["tagged"], batch["rejected"]) == (3, 2, 1)
        assert batch["rejected_rows"] == [{"line": 3, "reason": reason}]
    logs = api.get(batch["logs_url"]).json()["results"]
    assert {"Redis"} <= {tag["value"] for log in logs for tag in log["tags"]}


@pytest.mark.django_db
def test_blank_lines_are_not_rows_and_lines_are_counted_past_them(api, media):
    from tagging.models import Log

    batch = tag_here(api, f"{HEADER}\n{FIRST}\r\n\n2,Rust CLI,\n\n".encode())
    assert (batch["rows"], batch["tagged"], batch["rejected"]) == (2, 2, 0)
    logs = Log.objects.filter(batch_id=batch["id"]).order_by("position")
    assert list(logs.values_list("line", "entry")) == [(3, "wrote a program using Python Django"), (6, "Rust CLI")]


@pytest.mark.django_db
def test_a_date_alone_is_midnight_utc(api, media):
    batch = tag_here(api, f"{HEADER}2,Django,2026-11-02\n".encode())
    assert [log["timestamp"] for log in api.get(batch["logs_url"]).json()["results"]] == ["2026-11-02T00:00:00Z"]


@pytest.mark.django_db
@pytest.mark.parametrize("end", ["", "\n"])
def test_a_quote_never_closed_is_one_rejected_row_naming_the_lines_it_took(api, media, end):
    batch = tag_here(api, f'{HEADER}{FIRST}3,"never closed, Flask\n4,Redis cache,{end}'.encode())
    assert (batch["rows"], batch["tagged"], batch["rejected"]) == (2, 1, 1)
    assert batch["rejected_rows"] == [{
        "line": 3,
        "reason": "the row cannot be read (lines 3 to 4): a quoted field is never closed: the file ends inside it",
    }]


def test_a_huge_quoted_field_over_many_lines_keeps_the_lines_after_it(media):
    content = f'{HEADER}{FIRST}2,"{("z" * 1000 + chr(10)) * 200}",\n4,Redis,\n'.encode()
    checked = check_upload(io.BytesIO(content))
    rows = list(read_rows(save_upload(io.BytesIO(content), "huge"), checked["layout"]))
    assert [(row.line, len(row.entry)) for row in rows] == [(2, 35), (3, 200_200), (204, 5)]


def test_a_field_over_the_readers_limit_is_one_unreadable_row_and_reading_goes_on():
    layout = {"delimiter": ",", "entry": 0, "timestamp": None, "columns": 1}
    reader = csv_reader(io.StringIO(f"entry\nDjango\n{'x' * 500}\nRedis\n", newline=""), ",")
    next(reader)  # the header
    old = csv.field_size_limit(100)  # as if the upload limit had been lowered since the file was stored
    try:
        rows = list(rows_of(reader, layout))
    finally:
        csv.field_size_limit(old)
    assert [(row.line, row.entry, row.problem) for row in rows] == [
        (2, "Django", ""),
        (3, None, "the row cannot be read: a field is longer than the CSV reader's limit of 100 characters"),
        (4, "Redis", ""),
    ]


#: Every bad row above in one file, each followed by a blank line; then a huge quoted field over
#: 200 lines, a good row, and a quote never closed (last, as it takes the rest of the file).
ALL_TOGETHER = (
    HEADER + FIRST
    + "".join(f"{row}\n\n" for row, _ in BAD_ROWS.values())
    + '2,"' + ("z" * 1000 + "\n") * 200 + '",\n'
    + LAST
    + '3,"never closed, Flask\n4,Redis cache,\n'
)


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("worker")
def test_all_the_bad_rows_together_through_a_worker(api):
    from tagging.models import Log

    done = wait_for_order(api, upload(api, ALL_TOGETHER.encode())["Location"])
    assert done.status_code == 201, done.json()
    batch = api.get(done["Location"]).json()
    case_lines = {3 + 2 * index: reason for index, (_, reason) in enumerate(BAD_ROWS.values())}
    huge = 3 + 2 * len(BAD_ROWS)  # the huge field's row, lines huge to huge + 200
    never_closed = huge + 202  # after LAST on huge + 201
    assert batch["rejected_rows"] == [
        *({"line": line, "reason": reason} for line, reason in case_lines.items() if reason is not None),
        {"line": huge, "reason": "the entry is 200,200 characters long; the limit is 10,000"},
        {"line": never_closed, "reason": f"the row cannot be read (lines {never_closed} to {never_closed + 1}): "
                                         "a quoted field is never closed: the file ends inside it"},
    ]
    good = [line for line, reason in case_lines.items() if reason is None]
    bad = len(case_lines) - len(good) + 2
    assert (batch["rows"], batch["tagged"], batch["failed"], batch["rejected"]) == (
        len(good) + 2 + bad, len(good) + 2, 0, bad,
    )
    lines = Log.objects.filter(batch_id=batch["id"]).order_by("position").values_list("line", flat=True)
    assert list(lines) == [2, *good, huge + 201]


# 3. The export: no cell a spreadsheet would run.

DEFUSED = [
    "=1+1", "+1", "-1", "@SUM(A1)", "-5",  # OWASP: any cell starting so, a negative number too
    "\t=1", "\r=1", "\tplain", "\rplain",  # a tab or CR first, whatever follows
    " =1", "   +cmd", "\n=1", "\r\n=1", "\u00a0=1", "\u2003+1", "\u3000=1", "\u2028=1",  # spaces, line breaks
    "\ufeff=1", "\u200b=1", "\u200c=1", "\u200d=1", "\u2060=1", "\u200e=1",  # BOM, zero-width, marks
    '"=1"', "'=1", "\"'=1", " \" ' @x",  # quotes
    "＝1+1", "＋1", "－1", "＠SUM(A1)", " ＝1", "﹦1",  # full-width and other compatibility forms
    "\ufeff\u200b \"＝cmd|' /C calc'!A0",
]
UNTOUCHED = [
    "", "plain text", "Python Django", "5", "5-3", "a=b", "e-mail", "'quoted'", "\"quoted\"", " ", "\u200b",
    "ＡＢＣ", "C++ and C#", "100%", "1e-5", "(1+1)", "2026-11-02T09:30:00+00:00", "Django, PostgreSQL",
]


@pytest.mark.parametrize("value", DEFUSED)
def test_a_cell_a_spreadsheet_would_run_is_prefixed(value):
    assert spreadsheet_safe(value) == "'" + value


@pytest.mark.parametrize("value", UNTOUCHED)
def test_any_other_cell_is_left_as_it_is(value):
    assert spreadsheet_safe(value) == value


@pytest.mark.django_db
def test_the_export_defuses_the_whole_class(api, media):
    entries = [*DEFUSED, "plain Python"]
    buffer = io.StringIO()
    csv.writer(buffer).writerows([["entry"], *([entry] for entry in entries)])
    batch = tag_here(api, buffer.getvalue().encode())
    assert batch["rejected_rows"] == []
    text = b"".join(api.get(batch["export_url"]).streaming_content).decode("utf-8")
    cells = [row[1] for row in csv.reader(io.StringIO(text.removeprefix("\ufeff"), newline=""))][1:]
    assert cells == ["'" + entry for entry in entries[:-1]] + ["plain Python"]
