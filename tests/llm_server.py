"""A real HTTP server on loopback that answers OpenAI chat completions, with scriptable faults.

It speaks the wire format of DESIGN.md, "Taggers": it checks that a request asks for the
`tech_stack_tags` strict JSON schema and that its last user message is
`{"entries": [{"index": 0, "text": "…"}, …]}`, and answers
`{"results": [{"index": 0, "tags": […]}, …]}` as the message content, with token usage.
A request that breaks the wire format gets a 400, so a client that drifts from it fails.

Faults are injected per request: `script(*faults)` applies faults to the next requests in
the order they arrive; `fault_for(texts)` (a hook, default none) picks a fault from a
request's entries, for faults that must hit the same entries whatever the order; and
`tags_for(text)` is the "model" (tags for one entry, or None to leave the entry out).
The server counts requests and the peak number in flight.
"""
from __future__ import annotations

import json
import socket
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

SCHEMA_NAME = "tech_stack_tags"


@dataclass(frozen=True)
class RateLimit:
    """Answer 429 with this `Retry-After` header (None: no header)."""

    retry_after: str | None = "1"


@dataclass(frozen=True)
class Status:
    """Answer with this HTTP status and an OpenAI-style error body."""

    code: int
    message: str = "injected failure"


@dataclass(frozen=True)
class Hang:
    """Wait this long before answering normally (past the client's timeout, usually)."""

    seconds: float


@dataclass(frozen=True)
class Disconnect:
    """Close the connection without answering."""


@dataclass(frozen=True)
class Content:
    """Answer 200 with this message content: a string, or a function of the request's entries."""

    content: str | Callable[[list[dict]], str]


@dataclass(frozen=True)
class Omit:
    """Answer normally but leave these indexes out of the results."""

    indexes: frozenset[int]

    def __init__(self, *indexes: int) -> None:
        object.__setattr__(self, "indexes", frozenset(indexes))


Fault = RateLimit | Status | Hang | Disconnect | Content | Omit


@dataclass
class Received:
    """One request as the server saw it."""

    at: float
    body: dict
    entries: list[dict] = field(default_factory=list)
    #: The server's generation when it arrived; a request from before a reset counts no more.
    generation: int = 0

    @property
    def texts(self) -> list[str]:
        return [entry["text"] for entry in self.entries]


def default_tags(text: str) -> list[str]:
    """Tag like a careful model would: the offline tagger's canonical names."""
    from tagging.taggers.keywords import find_technologies

    return list(find_technologies(text))


class LLMServer:
    """A chat-completions server on 127.0.0.1 in a background thread; use as a context manager."""

    def __init__(self, *, latency: float = 0.0, model: str = "test-model") -> None:
        self.latency = latency
        self.model = model
        self.tags_for: Callable[[str], list | None] = default_tags
        self.fault_for: Callable[[list[str]], Fault | None] = lambda texts: None
        self.received: list[Received] = []
        self.prompt_tokens = 0
        self.completion_tokens = 0
        self.in_flight = 0
        self.peak_in_flight = 0
        self._script: deque[Fault] = deque()
        self._generation = 0
        self._lock = threading.Lock()
        self._httpd: _Server | None = None

    # Control, from the tests.

    @property
    def url(self) -> str:
        """The base URL a client passes as OPENAI_BASE_URL."""
        assert self._httpd is not None, "the server is not running"
        return f"http://127.0.0.1:{self._httpd.server_port}/v1"

    @property
    def count(self) -> int:
        """How many requests arrived."""
        return len(self.received)

    def stats(self) -> dict[str, int]:
        """Return the counts, as `GET /stats` also does for a server in another process."""
        with self._lock:
            return {
                "requests": len(self.received), "peak_in_flight": self.peak_in_flight,
                "prompt_tokens": self.prompt_tokens, "completion_tokens": self.completion_tokens,
            }

    def script(self, *faults: Fault) -> None:
        """Apply `faults` to the next requests, one each, in the order the requests arrive."""
        with self._lock:
            self._script.extend(faults)

    def always(self, fault: Fault) -> None:
        """Apply `fault` to every request."""
        self.fault_for = lambda texts: fault

    def reset(self) -> None:
        """Forget requests, counts, script and hooks (latency and model stay)."""
        with self._lock:
            # A request still hanging from the last test must not count in the next one.
            self._generation += 1
            self._script.clear()
            self.received.clear()
            self.prompt_tokens = self.completion_tokens = self.in_flight = self.peak_in_flight = 0
        self.tags_for = default_tags
        self.fault_for = lambda texts: None

    def start(self) -> LLMServer:
        self._httpd = _Server(("127.0.0.1", 0), _Handler)
        self._httpd.llm = self
        threading.Thread(target=self._httpd.serve_forever, name="llm-server", daemon=True).start()
        return self

    def stop(self) -> None:
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
            self._httpd = None

    def __enter__(self) -> LLMServer:
        return self.start()

    def __exit__(self, *exc_info) -> None:
        self.stop()

    # Serving, from the handler threads.

    def _enter(self, received: Received) -> Fault | None:
        with self._lock:
            received.generation = self._generation
            self.received.append(received)
            self.in_flight += 1
            self.peak_in_flight = max(self.peak_in_flight, self.in_flight)
            if self._script:
                return self._script.popleft()
        return self.fault_for(received.texts)

    def _leave(self, received: Received) -> None:
        with self._lock:
            if received.generation == self._generation:
                self.in_flight -= 1

    def _answer(self, entries: list[dict], omit: frozenset[int]) -> str:
        results = []
        for entry in entries:
            tags = self.tags_for(entry["text"])
            if tags is not None and entry["index"] not in omit:
                results.append({"index": entry["index"], "tags": tags})
        return json.dumps({"results": results})

    def _completion(self, received: Received, content: str, prompt_chars: int) -> dict:
        prompt_tokens, completion_tokens = prompt_chars // 4 + 1, len(content) // 4 + 1
        with self._lock:
            if received.generation == self._generation:
                self.prompt_tokens += prompt_tokens
                self.completion_tokens += completion_tokens
        return {
            "id": f"chatcmpl-{time.monotonic_ns()}",
            "object": "chat.completion",
            "created": int(time.time()),
            "model": self.model,
            "choices": [
                {"index": 0, "message": {"role": "assistant", "content": content}, "finish_reason": "stop"}
            ],
            "usage": {
                "prompt_tokens": prompt_tokens,
                "completion_tokens": completion_tokens,
                "total_tokens": prompt_tokens + completion_tokens,
            },
        }


def wire_error(body: object) -> str | None:
    """Return how a request body breaks the tagging wire format, or None if it keeps it."""
    if not isinstance(body, dict) or not isinstance(body.get("messages"), list) or not body.get("model"):
        return "a chat completion needs a model and messages"
    response_format = body.get("response_format") or {}
    schema = response_format.get("json_schema") or {}
    if (response_format.get("type"), schema.get("name"), schema.get("strict")) != ("json_schema", SCHEMA_NAME, True):
        return f"response_format must be the strict json_schema {SCHEMA_NAME!r}"
    users = [m for m in body["messages"] if isinstance(m, dict) and m.get("role") == "user"]
    if not users or body["messages"][-1] is not users[-1]:
        return "the last message must be the user's"
    try:
        payload = json.loads(users[-1]["content"])
    except (TypeError, ValueError):
        return "the last user message must be JSON text"
    entries = payload.get("entries") if isinstance(payload, dict) else None
    if not isinstance(entries, list) or not entries or set(payload) != {"entries"}:
        return 'the last user message must be {"entries": [...]}'
    for position, entry in enumerate(entries):
        if not isinstance(entry, dict) or set(entry) != {"index", "text"} or entry["index"] != position:
            return 'each entry must be {"index": <its position>, "text": "..."}'
        if not isinstance(entry["text"], str):
            return "each entry's text must be a string"
    return None


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False
    # socketserver listens with a backlog of 5: more concurrent connects than that are
    # dropped and retried by the client a second later.
    request_queue_size = 128
    llm: LLMServer


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "llm-test-server"
    # Headers and body in one packet, sent at once: otherwise a kept-alive connection waits
    # ~40 ms per request on the client's delayed ACK, which would distort the benchmark.
    disable_nagle_algorithm = True
    wbufsize = 1 << 16

    def log_message(self, format: str, *args) -> None:  # noqa: A002 - the base class's name
        pass  # quiet: the tests assert on recorded requests instead

    def do_GET(self) -> None:  # noqa: N802 - http.server's naming
        llm = self.server.llm
        if self.path.rstrip("/") != "/stats":
            return self._send_error(404, f"no route {self.path}")
        return self._send_json(200, llm.stats())

    def do_POST(self) -> None:  # noqa: N802 - http.server's naming
        llm = self.server.llm
        raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        if self.path.rstrip("/") != "/v1/chat/completions":
            return self._send_error(404, f"no route {self.path}")
        if self.headers.get("Authorization", "").removeprefix("Bearer ").strip() == "":
            return self._send_error(401, "no API key")
        try:
            body = json.loads(raw)
        except ValueError:
            body = None
        problem = wire_error(body)
        received = Received(
            at=time.monotonic(), body=body if isinstance(body, dict) else {},
            entries=[] if problem else json.loads(body["messages"][-1]["content"])["entries"],
        )
        fault = llm._enter(received)
        try:
            if problem:
                return self._send_error(400, problem)
            if llm.latency:
                time.sleep(llm.latency)
            self._serve(llm, received, fault, len(raw))
        finally:
            llm._leave(received)

    def _serve(self, llm: LLMServer, received: Received, fault: Fault | None, prompt_chars: int) -> None:
        if isinstance(fault, RateLimit):
            headers = {"Retry-After": fault.retry_after} if fault.retry_after is not None else {}
            body = {"error": {"message": "Rate limit reached", "type": "requests", "code": "rate_limit_exceeded"}}
            return self._send_json(429, body, headers)
        if isinstance(fault, Status):
            return self._send_error(fault.code, fault.message)
        if isinstance(fault, Disconnect):
            self.close_connection = True
            self.connection.shutdown(socket.SHUT_RDWR)
            return None
        if isinstance(fault, Hang):
            time.sleep(fault.seconds)
        if isinstance(fault, Content):
            content = fault.content(received.entries) if callable(fault.content) else fault.content
        else:
            content = llm._answer(received.entries, fault.indexes if isinstance(fault, Omit) else frozenset())
        return self._send_json(200, llm._completion(received, content, prompt_chars))

    def _send_error(self, status: int, message: str) -> None:
        kind = "server_error" if status >= 500 else "invalid_request_error"
        self._send_json(status, {"error": {"message": message, "type": kind}})

    def _send_json(self, status: int, body: dict, headers: dict[str, str] | None = None) -> None:
        data = json.dumps(body).encode()
        try:
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            for name, value in (headers or {}).items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(data)
            self.wfile.flush()
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up (its timeout): nothing to answer


def main() -> None:
    """Serve until killed, printing the base URL first: `python -m tests.llm_server --latency 0.2`."""
    import argparse
    import sys

    parser = argparse.ArgumentParser(description=main.__doc__)
    parser.add_argument("--latency", type=float, default=0.0, help="seconds per request")
    args = parser.parse_args()
    server = LLMServer(latency=args.latency).start()
    print(server.url, flush=True)
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()
        sys.exit(0)


if __name__ == "__main__":
    main()
