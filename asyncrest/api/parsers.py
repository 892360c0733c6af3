"""Request parsers that answer 400 for bodies Python's own parsers cannot take, never a 500."""
from __future__ import annotations

from rest_framework import parsers
from rest_framework.exceptions import ParseError


class JSONParser(parsers.JSONParser):
    """DRF's JSON parser, plus: nesting deeper than Python's `json` can decode (e.g. `[[[[…`) is a 400.

    DRF turns a `ValueError` into a parse error, but too deep a document raises `RecursionError`.
    """

    def parse(self, stream, media_type=None, parser_context=None):
        try:
            return super().parse(stream, media_type, parser_context)
        except RecursionError:
            raise ParseError("JSON parse error - the document is nested too deeply.") from None
