"""CSV uploads of log entries: checked at the door, stored once accepted, read back row by row.

The door checks what makes a whole file unusable (empty, not UTF-8, no `entry` column,
too large) and answers 400/413 naming the problem and the line. Problems of single rows
(an empty or overlong entry, a bad timestamp) are the job's to record per row.

An upload is stored only once its order is accepted, under the order's id, and removed
when the order ends, whatever the end: a refused request leaves nothing behind.
"""
from __future__ import annotations

import codecs
import csv
import hashlib
import io
from collections.abc import Iterator
from dataclasses import dataclass

from django.core.files import File
from django.core.files.storage import default_storage

CHUNK = 64 * 1024
SNIFF_BYTES = 64 * 1024
DELIMITERS = ",;\t"


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
    """One data row: the line it starts on and its raw entry and timestamp."""

    line: int
    entry: str | None
    timestamp: str | None


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
            line = newlines + chunk[: exc.start].count(b"\n") + 1
            raise UploadError(f"Line {line} is not valid UTF-8 (byte {exc.object[exc.start]:#04x}).") from exc
        newlines += chunk.count(b"\n")
        digest.update(chunk)
        if head.tell() < SNIFF_BYTES:
            head.write(chunk[: SNIFF_BYTES - head.tell()])
    try:
        decoder.decode(b"", final=True)
    except UnicodeDecodeError as exc:
        raise UploadError(f"Line {newlines + 1} ends in the middle of a UTF-8 character.") from exc
    layout = find_layout(head.getvalue().decode("utf-8-sig", errors="ignore"))
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


def find_layout(head: str) -> Layout:
    """Find the delimiter and the `entry`/`timestamp` columns from the start of the file."""
    if not head.strip():
        raise UploadError("The file is empty: expected a header row with an `entry` column.")
    first_line = head.splitlines()[0]
    try:
        delimiter = csv.Sniffer().sniff(first_line, delimiters=DELIMITERS).delimiter
    except csv.Error:
        delimiter = max(DELIMITERS, key=first_line.count) if any(d in first_line for d in DELIMITERS) else ","
    header = next(csv.reader(io.StringIO(head), delimiter=delimiter), [])
    names = [name.strip().lower() for name in header]
    if "entry" not in names:
        found = ", ".join(repr(name) for name in header) or "nothing"
        raise UploadError(f"Line 1 (the header) has no `entry` column; it has {found}.")
    return Layout(
        delimiter=delimiter,
        entry=names.index("entry"),
        timestamp=names.index("timestamp") if "timestamp" in names else None,
        columns=len(names),
    )


def layout_to_dict(layout: Layout) -> dict:
    return {"delimiter": layout.delimiter, "entry": layout.entry, "timestamp": layout.timestamp,
            "columns": layout.columns}


def read_rows(path: str, layout: dict) -> Iterator[Row]:
    """Yield the data rows of the stored file at `path`, with the line each starts on."""
    with default_storage.open(path, "rb") as raw:
        text = io.TextIOWrapper(raw, encoding="utf-8-sig", newline="")
        reader = csv.reader(text, delimiter=layout["delimiter"])
        next(reader, None)  # the header
        line = reader.line_num + 1
        for fields in reader:
            if fields:  # blank lines are not rows
                entry = fields[layout["entry"]] if len(fields) > layout["entry"] else None
                stamp = layout["timestamp"]
                timestamp = fields[stamp] if stamp is not None and len(fields) > stamp else None
                yield Row(line, entry, timestamp)
            line = reader.line_num + 1
