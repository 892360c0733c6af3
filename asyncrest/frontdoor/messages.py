"""HTTP/1.1 message heads and bodies, read from a stream within size limits and deadlines."""
from __future__ import annotations

import asyncio
import json
import re
import tempfile
from dataclasses import dataclass

MAX_HEAD = 64 * 1024  # request line and headers; nginx's large_client_header_buffers is 4 x 8 KiB
MAX_HEADERS = 100
PIECE = 256 * 1024
SPOOL_IN_MEMORY = 1024 * 1024

TOKEN = re.compile(rb"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
TARGET = re.compile(rb"[\x21-\x7e]+")  # visible ASCII: no spaces, no control characters
VERSION = re.compile(rb"HTTP/1\.[01]")
CONTROL = re.compile(rb"[\x00-\x08\x0a-\x1f\x7f]")  # in a header value; a tab is allowed
CHUNK_SIZE = re.compile(rb"[0-9A-Fa-f]{1,15}")

REASONS = {
    100: "Continue", 400: "Bad Request", 408: "Request Timeout", 413: "Content Too Large",
    431: "Request Header Fields Too Large", 501: "Not Implemented", 502: "Bad Gateway",
    503: "Service Unavailable", 504: "Gateway Timeout",
}


class Refusal(Exception):
    """The request cannot be served: answer `status` with `detail` as JSON, then close the connection."""

    def __init__(self, status: int, detail: str):
        super().__init__(detail)
        self.status, self.detail = status, detail

    def response(self) -> bytes:
        body = json.dumps({"detail": self.detail}).encode()
        return (
            f"HTTP/1.1 {self.status} {REASONS.get(self.status, 'Error')}\r\n"
            f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\nConnection: close\r\n\r\n"
        ).encode() + body


class Closed(Exception):
    """The peer closed the connection; `partial` is whether it had sent part of a message."""

    def __init__(self, partial: bool):
        super().__init__("connection closed")
        self.partial = partial


@dataclass
class Head:
    """A request line (method, target, version) or status line (version, status, reason), and the headers."""

    start: tuple[bytes, bytes, bytes]
    headers: list[tuple[bytes, bytes]]

    def values(self, name: bytes) -> list[bytes]:
        return [value for key, value in self.headers if key.lower() == name]

    def tokens(self, name: bytes) -> set[bytes]:
        """The comma-separated tokens of every `name` header, lowercased."""
        return {t.strip().lower() for value in self.values(name) for t in value.split(b",") if t.strip()}


class Deadline:
    """A deadline `grace` seconds away that moves on by one second for every `rate` bytes received."""

    def __init__(self, grace: float, rate: float | None = None):
        self.loop = asyncio.get_running_loop()
        self.start, self.grace, self.rate, self.received = self.loop.time(), grace, rate, 0

    def when(self) -> float:
        return self.start + self.grace + (self.received / self.rate if self.rate else 0.0)


async def read_head(reader: asyncio.StreamReader) -> bytes:
    """Read up to and including the blank line that ends a head; the caller bounds the time."""
    try:
        return await reader.readuntil(b"\r\n\r\n")
    except asyncio.IncompleteReadError as exc:
        raise Closed(partial=bool(exc.partial.strip())) from None
    except asyncio.LimitOverrunError:
        raise Refusal(431, f"The request line and headers are over {MAX_HEAD // 1024} KiB.") from None


def parse_head(raw: bytes, request: bool) -> Head:
    """Parse a head strictly: anything a server and a proxy could read differently is refused with 400."""
    lines = raw.lstrip(b"\r\n").split(b"\r\n")[:-2]
    if not lines:
        raise Refusal(400, "The request is empty.")
    start = lines[0].split(b" ", 2)
    if request:
        if len(start) != 3 or not TOKEN.fullmatch(start[0]) or not TARGET.fullmatch(start[1]):
            raise Refusal(400, "The request line is not `METHOD target HTTP/1.1`.")
        if not VERSION.fullmatch(start[2]):
            raise Refusal(400, "Only HTTP/1.0 and HTTP/1.1 are served here.")
    elif len(start) < 2 or not VERSION.fullmatch(start[0]) or not start[1].isdigit():
        raise Refusal(502, "The web server sent a response that could not be read.")
    if len(lines) - 1 > MAX_HEADERS:
        raise Refusal(431, f"The request has more than {MAX_HEADERS} headers.")
    headers = []
    for line in lines[1:]:
        name, colon, value = line.partition(b":")
        if not colon or not TOKEN.fullmatch(name):
            # Covers folded lines and spaces before the colon, which RFC 9112 says to reject.
            raise Refusal(400, "A header line is not `Name: value`.")
        value = value.strip(b" \t")
        if CONTROL.search(value):
            raise Refusal(400, "A header value holds control characters.")
        headers.append((name, value))
    return Head(tuple(start + [b""])[:3], headers)


def body_framing(head: Head) -> tuple[str, int]:
    """Return ("length", n), ("chunked", 0) or ("none", 0) for a request; refuse what could be smuggled."""
    encodings, lengths = head.values(b"transfer-encoding"), set(head.values(b"content-length"))
    if encodings and lengths:
        raise Refusal(400, "Send a Content-Length or Transfer-Encoding: chunked, not both.")
    if encodings:
        if [t.strip().lower() for v in encodings for t in v.split(b",")] != [b"chunked"]:
            raise Refusal(501, "Only `Transfer-Encoding: chunked` is understood.")
        return "chunked", 0
    if len(lengths) > 1 or (lengths and not next(iter(lengths)).isdigit()):
        raise Refusal(400, "The Content-Length is not one whole number.")
    return ("length", int(next(iter(lengths)))) if lengths else ("none", 0)


class BodyReader:
    """Read a request body into a spooled file, within `limit` bytes and a deadline that moves with the bytes."""

    def __init__(self, reader: asyncio.StreamReader, limit: int | None, deadline: Deadline):
        self.reader, self.limit, self.deadline = reader, limit, deadline
        self.file = tempfile.SpooledTemporaryFile(max_size=SPOOL_IN_MEMORY)

    def too_large(self) -> Refusal:
        return Refusal(413, f"The request body is over the limit of {self.limit} bytes.")

    async def read(self, framing: str, length: int):
        try:
            async with asyncio.timeout_at(self.deadline.when()) as timer:
                self.timer = timer
                if framing == "length":
                    if self.limit is not None and length > self.limit:
                        raise self.too_large()
                    await self.copy(length)
                elif framing == "chunked":
                    await self.read_chunks()
        except TimeoutError:
            self.file.close()
            raise Refusal(408, "The request body was sent too slowly.") from None
        except BaseException:
            self.file.close()
            raise
        self.file.seek(0)
        return self.file

    async def copy(self, length: int) -> None:
        while length:
            piece = await self.reader.read(min(length, PIECE))
            if not piece:
                raise Closed(partial=True)
            self.file.write(piece)
            length -= len(piece)
            self.deadline.received += len(piece)
            if self.limit is not None and self.deadline.received > self.limit:
                raise self.too_large()
            self.timer.reschedule(self.deadline.when())

    async def line(self) -> bytes:
        try:
            return (await self.reader.readuntil(b"\r\n"))[:-2]
        except asyncio.IncompleteReadError:
            raise Closed(partial=True) from None
        except asyncio.LimitOverrunError:
            raise Refusal(400, "A chunk-size line is too long.") from None

    async def read_chunks(self) -> None:
        while True:
            size = (await self.line()).split(b";", 1)[0].strip(b" \t")
            if not CHUNK_SIZE.fullmatch(size):
                raise Refusal(400, "A chunk of the body does not start with its size in hex.")
            if not int(size, 16):
                break
            await self.copy(int(size, 16))
            if await self.line():
                raise Refusal(400, "A chunk of the body is longer than its size says.")
        trailers = 0
        while await self.line():  # trailer fields are read and dropped
            trailers += 1
            if trailers > MAX_HEADERS:
                raise Refusal(431, f"The request has more than {MAX_HEADERS} trailer fields.")
