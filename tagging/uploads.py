"""CSV uploads of log entries: checked at the door, stored once accepted, read back row by row.

The door checks what makes a whole file unusable (empty, not UTF-8, no `entry` column, a
header that cannot be read or does not end within its first 64 KiB, too large) and answers
400/413 naming the problem and the line; its work is linear in the file and bounded in
the header. Problems of single rows (an empty or overlong entry, a bad timestamp, more
fields than the header, quoting the reader cannot read) are the job's to record per row.

An upload is stored only once its order is accepted, under the order's id, and removed
when the order ends, whatever the end: a refused request leaves nothing behind.
"""
from __future__ import annotations

import codecs
import csv
import hashlib
import io
import re
from collections.abc import Iterator
from dataclasses import dataclass

from django.core.files import File
from django.core.files.storage import default_storage

CHUNK = 64 * 1024
#: The start of the file that the header line must end in (the layout is found there).
SNIFF_BYTES = 64 * 1024
#: The delimiters recognised, in the order that breaks a tie between them.
DELIMITERS = ",;\t"
DELIMITER_NAMES = {",": "`,`", ";": "`;`", "\t": "a tab"}
#: A quoted field: a `"` at the start of a field (the text's start or right after a
#: delimiter) up to its closing `"`, with `""` inside for a quote. The lookbehind comes
#: after the literal `"` so that the regex engine can jump from quote to quote, and the
#: quantifiers are possessive so that a quote never closed costs one pass, not a backtrack.
QUOTED_FIELD = re.compile(r'"(?<![^,;\t]")[^"]*+(?:""[^"]*+)*+"')
#: How many of the header's names a "no `entry` column" answer lists, and how much of each.
NAMES_SHOWN = 10
NAME_SHOWN = 40


class UploadError(Exception):
    """The file cannot be used at all; `status` is the HTTP status to answer with."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.status = status


@dataclass(frozen=True, slots=True, kw_only=True)
class Layout:
    """Where the data is in a CSV file: its delimiter and the columns that matter."""

    delimiter: str
    entry: int
    timestamp: int | None
    columns: int


@dataclass(frozen=True, slots=True)
class Row:
    """One data row: the line it starts on, its raw entry and timestamp, and what is wrong with its shape."""

    line: int
    entry: str | None
    timestamp: str | None
    #: Why the row cannot be used as CSV (unreadable, or more fields than the header), if so.
    problem: str = ""


def max_upload_size() -> int:
    """The engine's upload limit, checked again here for bodies sent without a length."""
    from asyncrest import conf

    return conf.get("MAX_UPLOAD_SIZE")


def upload_path(order_id) -> str:
    """Where the upload of order `order_id` is stored (in the default storage)."""
    return f"uploads/{order_id}.csv"


def check_upload(source) -> dict:
    """Check the uploaded file `source` for size, UTF-8 and a header with an `entry` column.

    Returns what the job needs to read it: `size`, `sha256` and `layout`. The file is read
    in 64 KiB chunks: a 50 MB upload never sits in memory.
    """
    limit = max_upload_size()
    digest, size, newlines = hashlib.sha256(), 0, 0
    decoder = codecs.getincrementaldecoder("utf-8")("strict")
    head = io.BytesIO()  # the first 64 KiB, to find the layout in
    source.seek(0)
    while chunk := source.read(CHUNK):
        size += len(chunk)
        if size > limit:
            raise UploadError(f"The file is larger than the limit of {limit:,} bytes.", status=413)
        try:
            decoder.decode(chunk)
        except UnicodeDecodeError as exc:
            # exc.object is the chunk behind the decoder's few pending bytes, which hold no newline.
            line = newlines + exc.object[: exc.start].count(b"\n") + 1
            raise UploadError(f"Line {line} is not valid UTF-8 (byte {exc.object[exc.start]:#04x}).") from exc
        newlines += chunk.count(b"\n")
        digest.update(chunk)
        if head.tell() < SNIFF_BYTES:
            head.write(chunk[: SNIFF_BYTES - head.tell()])
    try:
        decoder.decode(b"", final=True)
    except UnicodeDecodeError as exc:
        raise UploadError(f"Line {newlines + 1} ends in the middle of a UTF-8 character.") from exc
    # Ignored errors: the head may end in the middle of a character (the file itself is valid).
    layout = find_layout(head.getvalue().decode("utf-8-sig", errors="ignore"), complete=size <= SNIFF_BYTES)
    source.seek(0)
    return {"size": size, "sha256": digest.hexdigest(), "layout": layout_to_dict(layout)}


def save_upload(source, order_id) -> str:
    """Store the checked upload `source` as order `order_id`'s (any worker reads it from there)."""
    source.seek(0)
    path = upload_path(order_id)
    default_storage.delete(path)  # a re-placed order id: never keep another file's rows
    # Wrapped, so that the storage copies it: moving an upload's temporary file away would
    # leave the upload to unlink a file that is gone.
    return default_storage.save(path, File(source))


def delete_upload(order_id) -> None:
    """Remove order `order_id`'s stored upload, if it has one."""
    path = upload_path(order_id)
    if default_storage.exists(path):
        default_storage.delete(path)


def remove_upload_on_finish(sender, order_id, **kwargs) -> None:
    """Remove a finished order's upload (a receiver of asyncrest's `order_finished`)."""
    delete_upload(order_id)


def find_layout(head: str, *, complete: bool = True) -> Layout:
    """Find the delimiter and the `entry`/`timestamp` columns in the first `SNIFF_BYTES` characters of `head`,
    the start of the file (all of it if `complete`)."""
    # Request work must be bounded: whoever calls, no more than this is looked at.
    if len(head) > SNIFF_BYTES:
        head, complete = head[:SNIFF_BYTES], False
    if not head.strip():
        raise UploadError("The file is empty: expected a header row with an `entry` column.")
    delimiter = find_delimiter(head)
    header = read_header(head, delimiter, complete=complete)
    names = [name.strip().lower() for name in header]
    if "entry" not in names:
        raise UploadError(f"Line 1 (the header) has no `entry` column; it has {describe_names(header)}.")
    return Layout(
        delimiter=delimiter,
        entry=names.index("entry"),
        timestamp=names.index("timestamp") if "timestamp" in names else None,
        columns=len(names),
    )


def find_delimiter(head: str) -> str:
    """Return the delimiter of the header line `head` starts with: the most frequent of `,` `;` tab outside
    quoted fields, a tie going to the first of them, and `,` if there is none of them."""
    # Quoted fields cut out, the rest counted by str methods: linear in `head` at C speed,
    # where csv.Sniffer was quadratic in the line's length.
    unquoted = QUOTED_FIELD.sub("", head)
    line = unquoted[: line_end(unquoted)]
    counts = [line.count(delimiter) for delimiter in DELIMITERS]
    return DELIMITERS[counts.index(max(counts))]


def line_end(text: str) -> int:
    """Return the index of the first line break (CR or LF) in `text`, or its length if it has none."""
    ends = [index for index in (text.find("\r"), text.find("\n")) if index >= 0]
    return min(ends, default=len(text))


def read_header(head: str, delimiter: str, *, complete: bool) -> list[str]:
    """Return the fields of the header row at the start of `head` as the job will read them,
    or raise `UploadError` naming line 1."""
    stream = io.StringIO(head, newline="")
    try:
        header = next(csv_reader(stream, delimiter), [])
        error = None
    except csv.Error as exc:
        header, error = [], exc
    # A header that runs to the end of an incomplete head is refused, not guessed at.
    if not complete and stream.tell() == len(head) and not head.endswith(("\r", "\n")):
        raise UploadError(
            f"Line 1 (the header) does not end within the first {SNIFF_BYTES:,} bytes of the file; "
            "a header is one line of column names, such as `entry,timestamp`."
        )
    if error is not None:
        raise UploadError(f"Line 1 (the header) cannot be read: {csv_problem(error)}.")
    return header


def describe_names(header: list[str]) -> str:
    """Return the header's names for an answer: the first `NAMES_SHOWN`, each cut to `NAME_SHOWN` characters."""
    if not header:
        return "nothing"
    shown = ", ".join(
        repr(name if len(name) <= NAME_SHOWN else name[:NAME_SHOWN] + "…") for name in header[:NAMES_SHOWN]
    )
    more = len(header) - NAMES_SHOWN
    return f"{shown} and {more:,} more" if more > 0 else shown


def csv_reader(lines, delimiter: str):
    """Return the CSV reader of `lines` that both the door and the job read with."""
    # Strict: text after a closing quote, or a quote never closed, is an error to report
    # (with the lines it took), not a field that silently holds the rest of the file.
    return csv.reader(lines, delimiter=delimiter, strict=True)


def csv_problem(error: csv.Error) -> str:
    """Return what the CSV reader's `error` means, in words for people."""
    text = str(error)
    if text == "unexpected end of data":
        return "a quoted field is never closed: the file ends inside it"
    if "expected after" in text:
        return (
            "a quoted field is followed by more text before the next delimiter "
            '(a `"` inside a quoted field is written `""`)'
        )
    if text.startswith("field larger than field limit"):
        return f"a field is longer than the CSV reader's limit of {csv.field_size_limit():,} characters"
    return f"it is not valid CSV ({text})"


def layout_to_dict(layout: Layout) -> dict:
    return {"delimiter": layout.delimiter, "entry": layout.entry, "timestamp": layout.timestamp,
            "columns": layout.columns}


def read_rows(path: str, layout: dict) -> Iterator[Row]:
    """Yield the data rows of the stored file at `path` with the line each starts on,
    a row that cannot be read coming with its problem."""
    with default_storage.open(path, "rb") as raw:
        allow_fields_up_to(getattr(raw, "size", None) or max_upload_size())
        text = io.TextIOWrapper(raw, encoding="utf-8-sig", newline="")
        reader = csv_reader(text, layout["delimiter"])
        next(reader, None)  # the header, read at the door by the same rules
        yield from rows_of(reader, layout)


def rows_of(reader, layout: dict) -> Iterator[Row]:
    """Yield the rows of CSV `reader` after its header, an error of the reader becoming that row's problem
    while reading goes on."""
    while True:
        line = reader.line_num + 1
        try:
            fields = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            # The reader drops the rest of the physical line and starts afresh on the next one,
            # and its line_num has counted every line it took: later rows keep their lines.
            yield Row(line, None, None, problem=unreadable_row(exc, line, reader.line_num))
            continue
        if fields:  # blank lines are not rows
            yield row_of(fields, line, layout)


def row_of(fields: list[str], line: int, layout: dict) -> Row:
    """Return the row of `fields` starting on `line`, with a problem if it has text in more fields than the header."""
    entry = fields[layout["entry"]] if len(fields) > layout["entry"] else None
    stamp = layout["timestamp"]
    timestamp = fields[stamp] if stamp is not None and len(fields) > stamp else None
    problem = ""
    # Empty fields past the header's are trailing delimiters; text there would be lost.
    if any(field.strip() for field in fields[layout["columns"]:]):
        problem = (
            f"the row has {len(fields)} fields but the header has {layout['columns']}: "
            f"a field that contains {DELIMITER_NAMES[layout['delimiter']]} "
            "must be in double quotes"
        )
    return Row(line, entry, timestamp, problem=problem)


def unreadable_row(error: csv.Error, line: int, last_line: int) -> str:
    """Return the reason for a row starting on `line` that the reader gave up on at `last_line`."""
    span = f" (lines {line} to {last_line})" if last_line > line else ""
    return f"the row cannot be read{span}: {csv_problem(error)}"


def allow_fields_up_to(size: int) -> None:
    """Let the CSV reader take fields of up to `size` characters."""
    # Past the default 131,072 the reader raises and loses the rest of the line: a huge field
    # is to be one row rejected by its length. The limit is process-wide in Python's csv
    # module; it is only ever raised, to the size of a stored upload at most.
    if size > csv.field_size_limit():
        csv.field_size_limit(size)
