"""The front door: read each request whole, within deadlines, before a web server thread is spent on it."""
from __future__ import annotations

import asyncio
import sys
from contextlib import suppress
from dataclasses import dataclass

from .messages import (
    MAX_HEAD, PIECE, BodyReader, Closed, Deadline, Refusal, body_framing, parse_head, read_head,
)

# Headers that describe one connection, not the request: never passed on (RFC 9110, 7.6.1).
HOP_BY_HOP = {
    b"connection", b"keep-alive", b"proxy-connection", b"te", b"trailer", b"transfer-encoding",
    b"upgrade", b"expect", b"content-length", b"http2-settings",
}
# The client's address, for the web server's REMOTE_ADDR (asyncrest.frontdoor.wsgi); a client's own is dropped.
PEER_HEADER = b"X-Asyncrest-Peer"
WRITE_HIGH_WATER = 1024 * 1024
LINGER_BYTES = 4 * 1024 * 1024
# Methods that may be sent again when a kept upstream connection turns out closed (RFC 9110, 9.2.2).
IDEMPOTENT = {b"GET", b"HEAD", b"OPTIONS", b"PUT", b"DELETE", b"TRACE"}
KEPT_UPSTREAM = 64  # upstream connections kept open at most, idle


@dataclass
class Limits:
    """What one client may hold. The defaults bound a slow client to seconds, and a slow upload to 4 KiB/s."""

    header_timeout: float = 10.0  # for the request line and headers, from the connection's first wait
    body_grace: float = 10.0  # a body must arrive within this, plus one second per `body_rate` bytes
    body_rate: float = 4096.0
    max_body: int | None = None  # larger bodies are refused with 413 before reaching the web server
    response_timeout: float = 120.0  # between two reads of the web server's answer
    send_timeout: float = 30.0  # for a client to take 1 MiB of an answer
    max_connections: int = 1000
    # An upstream connection is used again if it idled less than this (0: one per request).
    # Keep it well under the web server's own keep-alive (gunicorn's: 2 s; runstack sets 5 s).
    upstream_idle: float = 1.0


class FrontDoor:
    def __init__(self, upstream: str, limits: Limits, log=None):
        self.upstream, self.limits = upstream, limits
        self.log = log or (lambda line: print(f"front door: {line}", file=sys.stderr, flush=True))
        self.connections = 0
        self.idle: dict[asyncio.Task, asyncio.StreamWriter] = {}  # waiting for a request: closed at once on stop
        self.busy: set[asyncio.Task] = set()  # serving one: given time to finish on stop
        self.kept: list[tuple[asyncio.StreamReader, asyncio.StreamWriter, float]] = []  # idle upstream connections

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        peer = writer.get_extra_info("peername")
        address = peer[0] if isinstance(peer, tuple) else ""
        self.connections += 1
        writer.transport.set_write_buffer_limits(high=WRITE_HIGH_WATER)
        try:
            if self.connections > self.limits.max_connections:
                raise Refusal(503, "The server has too many connections open; try again shortly.")
            first = True
            while await self.serve_one(reader, writer, address, first, task):
                first = False
        except Refusal as refusal:
            self.log(f"{refusal.status} to {address}: {refusal.detail}")
            writer.write(refusal.response())
            await self.linger(reader, writer)
        except (Closed, ConnectionError, TimeoutError, EOFError, asyncio.LimitOverrunError, ValueError):
            pass  # the client went away, was too slow to take the answer, or the web server broke off
        finally:
            self.connections -= 1
            self.idle.pop(task, None)
            self.busy.discard(task)
            with suppress(Exception):
                async with asyncio.timeout(1.0):
                    await writer.drain()
            writer.close()

    async def serve_one(self, reader, writer, address: str, first: bool, task) -> bool:
        """Serve one request; return whether the connection stays open for the next."""
        self.idle[task] = writer
        try:
            async with asyncio.timeout(self.limits.header_timeout):
                raw = await read_head(reader)
        except TimeoutError:
            if first:  # a slow client; a keep-alive connection left idle is closed without a word
                raise Refusal(408, "The request line and headers were not sent in time.") from None
            return False
        except Closed as closed:
            if closed.partial:
                raise Refusal(400, "The connection ended in the middle of the request's headers.") from None
            return False
        finally:
            self.idle.pop(task, None)
        self.busy.add(task)
        try:
            head = parse_head(raw, request=True)
            keep = head.start[2] == b"HTTP/1.1" and b"close" not in head.tokens(b"connection")
            framing, length = body_framing(head)
            limit = self.limits.max_body
            if framing != "none" and b"100-continue" in head.tokens(b"expect"):
                if framing == "length" and limit is not None and length > limit:
                    raise Refusal(413, f"The request body is over the limit of {limit} bytes.")
                writer.write(b"HTTP/1.1 100 Continue\r\n\r\n")
            body = None
            if framing != "none":
                deadline = Deadline(self.limits.body_grace, self.limits.body_rate)
                body = await BodyReader(reader, limit, deadline).read(framing, length)
            try:
                return await self.forward(head, body, writer, address, keep)
            finally:
                if body is not None:
                    body.close()
        finally:
            self.busy.discard(task)

    async def linger(self, reader, writer) -> None:
        """Send the answer, then read and drop what the client still sends, for a moment, before closing.

        Closing a socket with unread bytes makes the kernel reset the connection, and a client
        that is still sending its request may then never read the answer (nginx's lingering_close).
        """
        with suppress(Exception):
            async with asyncio.timeout(2.0):
                await writer.drain()
                writer.write_eof()
                dropped = 0
                while dropped < LINGER_BYTES and (piece := await reader.read(PIECE)):
                    dropped += len(piece)

    def close_idle(self) -> None:
        """Close the connections that wait for a request: each then ends as if its client had left."""
        for writer in list(self.idle.values()):
            writer.close()

    async def upstream_connection(self):
        """A kept upstream connection that idled less than `upstream_idle`, else a new one; and whether it was kept."""
        now = asyncio.get_running_loop().time()
        while self.kept:
            reader, writer, since = self.kept.pop()
            if now - since < self.limits.upstream_idle and not reader.at_eof() and not writer.is_closing():
                return reader, writer, True
            writer.close()
        async with asyncio.timeout(5.0):
            reader, writer = await self.open_upstream()
        return reader, writer, False

    def keep(self, reader, writer) -> None:
        if len(self.kept) < KEPT_UPSTREAM and self.limits.upstream_idle > 0 and not writer.is_closing():
            self.kept.append((reader, writer, asyncio.get_running_loop().time()))
        else:
            writer.close()

    async def open_upstream(self):
        if self.upstream.startswith("unix:"):
            return await asyncio.open_unix_connection(self.upstream[5:], limit=MAX_HEAD)
        host, _, port = self.upstream.rpartition(":")
        return await asyncio.open_connection(host.strip("[]"), int(port), limit=MAX_HEAD)

    def upstream_head(self, head, size: int | None, address: str) -> bytes:
        method, target, _ = head.start
        lines = [b"%s %s HTTP/1.1" % (method, target)]
        drop = HOP_BY_HOP | head.tokens(b"connection")
        forwarded = []
        for name, value in head.headers:
            key = name.lower()
            if key == b"x-forwarded-for":
                forwarded.append(value)
            elif key not in drop and key.replace(b"_", b"-") != PEER_HEADER.lower():
                lines.append(name + b": " + value)
        forwarded.append(address.encode())
        lines += [b"X-Forwarded-For: " + b", ".join(forwarded), PEER_HEADER + b": " + address.encode()]
        if self.limits.upstream_idle <= 0:
            lines.append(b"Connection: close")
        if size is not None:
            lines.append(b"Content-Length: %d" % size)
        return b"\r\n".join(lines) + b"\r\n\r\n"

    async def forward(self, head, body, writer, address: str, keep: bool) -> bool:
        """Send the request to the web server and its answer to the client; return whether to keep the connection."""
        size = None
        if body is not None:
            size = body.seek(0, 2)
        method = head.start[0]
        for attempt in (1, 2):
            try:
                up_reader, up_writer, was_kept = await self.upstream_connection()
            except (OSError, TimeoutError):
                raise Refusal(502, "The web server is not answering; try again shortly.") from None
            reusable = sent = False
            try:
                try:
                    up_writer.write(self.upstream_head(head, size, address))
                    if body is not None:
                        body.seek(0)
                    while body is not None and (piece := body.read(PIECE)):
                        up_writer.write(piece)
                        async with asyncio.timeout(self.limits.response_timeout):
                            await up_writer.drain()
                    sent = True
                except ConnectionError:
                    pass  # it may have answered without reading the whole body: read what it said
                try:
                    answer = await self.read_answer_head(up_reader)
                except Closed as closed:
                    # A kept connection the web server had closed: nothing of the request was
                    # served, so an idempotent one goes again on a new connection.
                    if was_kept and attempt == 1 and not closed.partial and method in IDEMPOTENT:
                        continue
                    raise Refusal(502, "The web server closed the connection without a readable answer.") from None
                keep, reusable = await self.relay(method, answer, up_reader, writer, keep)
                reusable = reusable and sent
                return keep
            finally:
                if reusable:
                    self.keep(up_reader, up_writer)
                else:
                    up_writer.close()
        raise AssertionError("unreachable")

    async def read_answer_head(self, up_reader):
        """The head of the web server's answer; Closed if the connection ended before one."""
        try:
            async with asyncio.timeout(self.limits.response_timeout):
                return parse_head(await read_head(up_reader), request=False)
        except TimeoutError:
            raise Refusal(504, "The web server took too long to answer.") from None
        except ConnectionError:
            raise Closed(partial=False) from None
        except Refusal:
            raise Refusal(502, "The web server closed the connection without a readable answer.") from None

    async def read_upstream(self, call):
        try:
            async with asyncio.timeout(self.limits.response_timeout):
                return await call
        except TimeoutError:
            raise Closed(partial=True) from None

    async def relay(self, method: bytes, head, up_reader, writer, keep: bool) -> tuple[bool, bool]:
        """Pass the answer (`head`, then its body) to the client; return whether to keep the client's
        connection, and whether the upstream one may serve another request."""
        status = int(head.start[1])
        if method == b"HEAD" or status in (204, 304) or status < 200:
            framing, length = "none", 0
        elif b"chunked" in head.tokens(b"transfer-encoding"):
            framing, length = "chunked", 0
        elif (lengths := head.values(b"content-length")) and lengths[0].isdigit():
            framing, length = "length", int(lengths[0])
        else:
            framing, length = "close", 0
        lines = [b" ".join(head.start).rstrip()]
        lines += [name + b": " + value for name, value in head.headers
                  if name.lower() not in (b"connection", b"keep-alive")]
        reusable = (framing != "close" and head.start[0] == b"HTTP/1.1"
                    and b"close" not in head.tokens(b"connection"))
        keep = keep and framing != "close"
        if not keep:
            lines.append(b"Connection: close")
        writer.write(b"\r\n".join(lines) + b"\r\n\r\n")
        # From here on the answer has begun: a failure can only cut the connection.
        if framing == "length":
            await self.copy(up_reader, writer, length)
        elif framing == "chunked":
            while True:
                line = await self.read_upstream(up_reader.readuntil(b"\r\n"))
                writer.write(line)
                size = int(line.split(b";", 1)[0].strip() or b"0", 16)
                if not size:
                    while (trailer := await self.read_upstream(up_reader.readuntil(b"\r\n"))) != b"\r\n":
                        writer.write(trailer)
                    writer.write(b"\r\n")
                    break
                await self.copy(up_reader, writer, size + 2)
                await self.flush(writer)  # a stream's events go out as they come
        elif framing == "close":
            while piece := await self.read_upstream(up_reader.read(PIECE)):
                writer.write(piece)
                await self.flush(writer)
        await self.flush(writer)
        return keep, reusable

    async def copy(self, up_reader, writer, length: int) -> None:
        while length:
            piece = await self.read_upstream(up_reader.read(min(length, PIECE)))
            if not piece:
                raise Closed(partial=True)
            writer.write(piece)
            length -= len(piece)
            await self.flush(writer)

    async def flush(self, writer) -> None:
        """Wait, up to `send_timeout`, for a client with more than 1 MiB of the answer still to take."""
        async with asyncio.timeout(self.limits.send_timeout):
            await writer.drain()
