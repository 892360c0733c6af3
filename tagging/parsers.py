"""A DRF parser for a raw `text/csv` request body, streamed to a temporary file."""
from __future__ import annotations

from django.core.files.uploadedfile import TemporaryUploadedFile
from rest_framework.parsers import BaseParser

from .uploads import CHUNK


class CSVParser(BaseParser):
    """Parse a `text/csv` body into `{"file": <uploaded file>}`, like a multipart upload."""

    media_type = "text/csv"

    def parse(self, stream, media_type=None, parser_context=None) -> dict:
        upload = TemporaryUploadedFile("upload.csv", "text/csv", 0, "utf-8")
        if stream is not None:
            while chunk := stream.read(CHUNK):
                upload.write(chunk)
        upload.size = upload.tell()
        upload.seek(0)
        return {"file": upload}
