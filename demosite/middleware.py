"""Refuse requests whose URL or headers carry control characters or broken UTF-8, before any view reads them."""
from __future__ import annotations

import re
from urllib.parse import unquote_to_bytes

from django.http import JsonResponse

# C0 controls but tab, and DEL: PostgreSQL refuses NUL in text, CR/LF split headers and log
# lines, and no URL or header of this site has a use for any of them (RFC 9110, section 5.5).
CONTROL = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]")


def refusal(text: str) -> str | None:
    """Return why a decoded URL part or header value is refused, or None if it is fine."""
    if CONTROL.search(text):
        return "contains a control character"
    return None


def decode(raw: bytes) -> tuple[str, str | None]:
    """Decode percent-decoded bytes as UTF-8; return the text (U+FFFD where broken) and why it is refused."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        return raw.decode("utf-8", "replace"), "is not valid UTF-8"
    return text, refusal(text)


def raw_query_string(request) -> bytes:
    """Return the query string as the client sent it (WSGI hands it over as latin-1 text)."""
    query = request.META.get("QUERY_STRING", "")
    try:
        return query.encode("iso-8859-1")
    except UnicodeEncodeError:  # an ASGI server's already decoded text
        return query.encode("utf-8")


def query_problem(request) -> str | None:
    """Name the first query parameter whose name or value is refused, as Django's QueryDict would split them."""
    for field in raw_query_string(request).split(b"&"):
        if not field:
            continue
        raw_name, _, raw_value = field.partition(b"=")
        name, name_problem = decode(unquote_to_bytes(raw_name.replace(b"+", b" ")))
        if name_problem:
            return f"A query parameter name ({name!r}) {name_problem}."
        _, value_problem = decode(unquote_to_bytes(raw_value.replace(b"+", b" ")))
        if value_problem:
            return f"The query parameter {name!r} {value_problem}."
    return None


def path_problem(request) -> str | None:
    """Name the first path segment that is refused."""
    for segment in request.path_info.split("/"):
        # Django re-percent-encodes bytes that are not UTF-8 (%FF); decoding them again finds them.
        text, problem = decode(unquote_to_bytes(segment)) if "%" in segment else (segment, refusal(segment))
        if problem:
            return f"The path segment {text!r} {problem}."
    return None


def header_problem(request) -> str | None:
    """Name the first request header that is refused (its value is never echoed: it may be a credential)."""
    for key, value in request.META.items():
        if not (key.startswith("HTTP_") or key in {"CONTENT_TYPE", "CONTENT_LENGTH"}) or not isinstance(value, str):
            continue
        problem = refusal(value)
        if problem:
            name = key.removeprefix("HTTP_").replace("_", "-").title()
            return f"The {name} header {problem}."
    return None


class RefuseControlCharactersMiddleware:
    """Refuse (JSON) any request with a control character or broken UTF-8 in its path (404), query or headers (400)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        # Such a path names nothing here: 404, which every operation with a path parameter documents.
        problem = path_problem(request)
        if problem:
            return JsonResponse({"detail": problem}, status=404)
        problem = query_problem(request) or header_problem(request)
        if problem:
            return JsonResponse({"detail": problem}, status=400)
        return self.get_response(request)
