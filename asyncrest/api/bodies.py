"""Request bodies of the order endpoint: their size limits, and bodies sent with chunked transfer coding."""
from __future__ import annotations

import tempfile

from django.core.handlers.wsgi import LimitedStream
from rest_framework import status
from rest_framework.exceptions import APIException

from .. import conf
from .exceptions import PayloadTooLarge

CHUNK = 64 * 1024


class LengthRequired(APIException):
    status_code = status.HTTP_411_LENGTH_REQUIRED
    default_detail = "Send the body with a Content-Length: this server cannot read a chunked body."
    default_code = "length_required"


def body_limit(request) -> int:
    """`MAX_UPLOAD_SIZE` for a file (multipart, or a raw body of `UPLOAD_MEDIA_TYPES`), else `MAX_BODY_SIZE`."""
    content_type = request.META.get("CONTENT_TYPE", "").split(";")[0].strip().lower()
    is_file = content_type.startswith("multipart/") or content_type in conf.get("UPLOAD_MEDIA_TYPES")
    return conf.get("MAX_UPLOAD_SIZE" if is_file else "MAX_BODY_SIZE")


def check_body_size(request) -> None:
    """Raise 413 before parsing a body whose Content-Length is over its limit."""
    limit = body_limit(request)
    try:
        length = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        length = 0
    if limit and length > limit:
        raise PayloadTooLarge(f"The request body is {length} bytes; the limit is {limit} bytes.")


def read_chunked_body(request) -> None:
    """Read a body sent with `Transfer-Encoding: chunked` to a spooled file, within its limit, for the parsers.

    Django reads a body by its Content-Length, which a chunked body (what `requests` sends
    for a generator or a file object, `curl -T -`) has none of: it would parse as empty.
    The server must have decoded the chunks and must end the input at the body's end
    (`wsgi.input_terminated`, as gunicorn does); one that does not gets a 411, never a hang.
    """
    if "chunked" not in request.META.get("HTTP_TRANSFER_ENCODING", "").lower() or request.META.get("CONTENT_LENGTH"):
        return
    if not request.META.get("wsgi.input_terminated"):
        raise LengthRequired()
    limit = body_limit(request)
    source = request.META["wsgi.input"]
    body = tempfile.SpooledTemporaryFile(max_size=1024 * 1024)
    size = 0
    while chunk := source.read(CHUNK):
        size += len(chunk)
        if limit and size > limit:
            body.close()
            raise PayloadTooLarge(f"The request body is over the limit of {limit} bytes.")
        body.write(chunk)
    body.seek(0)
    request.META["CONTENT_LENGTH"] = str(size)
    request._stream = LimitedStream(body, size)
    request._read_started = False
