"""The front door (`python -m asyncrest.frontdoor`) in front of a real gunicorn, spoken to over raw sockets.

What a slow or hostile client can hold is a coroutine for a bounded time, never one of the
web server's threads; what the web server receives is one plainly framed request.
"""
import hashlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest
import requests

from asyncrest.broker.embedded import free_port

REPO = Path(__file__).resolve().parents[2]
MAX_BODY = 1_000_000


def wait_until(predicate, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.05)
    pytest.fail(f"timed out waiting for {what}")


def connects(family, address) -> bool:
    try:
        with socket.socket(family) as probe:
            probe.connect(address)
        return True
    except OSError:
        return False


def start_front_door(upstream: str, port: int, *extra: str) -> subprocess.Popen:
    process = subprocess.Popen(
        [sys.executable, "-m", "asyncrest.frontdoor", "--bind", f"127.0.0.1:{port}", "--upstream", upstream,
         "--header-timeout", "1", "--body-grace", "1", "--body-rate", "4096", "--max-body", str(MAX_BODY), *extra],
        cwd=REPO, stderr=subprocess.PIPE,
    )
    wait_until(lambda: connects(socket.AF_INET, ("127.0.0.1", port)), 20, "the front door to listen")
    return process


def stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@pytest.fixture(scope="module")
def upstream():
    """gunicorn with 1 process x 2 threads serving tests/frontdoor_app.py on a unix socket."""
    directory = tempfile.mkdtemp(prefix="frontdoor-")
    path = f"{directory}/web.sock"
    gunicorn = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "tests.frontdoor_app:application", "--bind", f"unix:{path}",
         "--workers", "1", "--threads", "2", "--worker-class", "gthread", "--log-level", "warning",
         "--control-socket", f"{directory}/gunicorn.ctl"],
        cwd=REPO,
    )
    wait_until(lambda: connects(socket.AF_UNIX, path), 30, "gunicorn to listen")
    yield SimpleUpstream(path, gunicorn)
    stop(gunicorn)
    shutil.rmtree(directory, ignore_errors=True)


class SimpleUpstream:
    def __init__(self, path, process):
        self.path, self.process = path, process


@pytest.fixture(scope="module")
def door(upstream):
    port = free_port()
    process = start_front_door(f"unix:{upstream.path}", port)
    yield port
    stop(process)


def exchange(port: int, data: bytes, timeout: float = 10.0) -> bytes:
    """Send `data` and return all the front door answers until it closes the connection."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as conn:
        conn.sendall(data)
        conn.shutdown(socket.SHUT_WR)
        return read_all(conn)


def read_all(conn) -> bytes:
    chunks = []
    while chunk := conn.recv(65536):
        chunks.append(chunk)
    return b"".join(chunks)


def responses(raw: bytes, bodiless=()) -> list[tuple[int, dict, bytes]]:
    """Split Content-Length framed responses: (status, headers, body) each; those numbered in `bodiless` answer HEAD."""
    found = []
    while raw:
        head, _, raw = raw.partition(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        headers = {k.lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:])}
        length = 0 if len(found) in bodiless else int(headers.get("content-length", 0))
        found.append((int(lines[0].split()[1]), headers, raw[:length]))
        raw = raw[length:]
    return found


def seen_by_upstream(port: int, request: bytes) -> dict:
    [(status, _, body)] = responses(exchange(port, request))
    assert status == 200, body
    return json.loads(body)


def test_a_request_reaches_the_web_server_with_the_clients_address_and_a_plain_framing(door):
    seen = seen_by_upstream(door, (
        b"GET /echo?x=1 HTTP/1.1\r\nHost: example.test\r\nX-Forwarded-For: 203.0.113.9\r\n"
        b"X-Asyncrest-Peer: 198.51.100.1\r\nX-Asyncrest_Peer: 198.51.100.2\r\n"
        b"Connection: close, X-Secret-Hop\r\nX-Secret-Hop: 1\r\nUpgrade: h2c\r\nX-Kept: yes\r\n\r\n"
    ))
    assert seen["remote_addr"] == "127.0.0.1", "a client cannot name its own address"
    assert seen["headers"]["X_FORWARDED_FOR"] == "203.0.113.9, 127.0.0.1"
    assert seen["headers"]["HOST"] == "example.test" and seen["headers"]["X_KEPT"] == "yes"
    assert {"X_SECRET_HOP", "UPGRADE", "X_ASYNCREST_PEER"}.isdisjoint(seen["headers"])
    assert "CONNECTION" not in seen["headers"], "the client's Connection header is the client's"
    assert (seen["path"], seen["query"]) == ("/echo", "x=1")


def test_keep_alive_and_pipelined_requests_are_served_in_order_on_one_connection(door):
    one = b"GET /echo?n=%d HTTP/1.1\r\nHost: x\r\n\r\n"
    raw = exchange(door, one % 1 + one % 2 + b"HEAD /echo?n=3 HTTP/1.1\r\nHost: x\r\n\r\n" + one % 4
                   + b"GET /echo?n=5 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n" + one % 6)
    found = responses(raw, bodiless={2})
    assert [status for status, _, _ in found] == [200] * 5, "nothing is answered after `Connection: close`"
    assert found[2][2] == b"" and int(found[2][1]["content-length"]) > 0, "HEAD: the length, not the body"
    assert [json.loads(body)["query"] for i, (_, _, body) in enumerate(found) if i != 2] == ["n=1", "n=2", "n=4", "n=5"]
    assert found[4][1]["connection"] == "close"


def test_a_body_by_content_length_or_chunks_arrives_whole_and_with_a_content_length(door):
    body = os.urandom(300_000)
    expected = hashlib.sha256(body).hexdigest()
    seen = seen_by_upstream(door, b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n" % len(body) + body)
    assert (seen["body_sha256"], seen["content_length"]) == (expected, str(len(body)))

    chunked = b"".join(b"%x;ext=1\r\n%s\r\n" % (len(part), part) for part in (body[:1], body[1:70_000], body[70_000:]))
    seen = seen_by_upstream(door, b"POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
                            + chunked + b"0\r\nX-Trailer: dropped\r\n\r\n")
    assert (seen["body_sha256"], seen["content_length"]) == (expected, str(len(body)))
    assert "TRANSFER_ENCODING" not in seen["headers"] and "X_TRAILER" not in seen["headers"]


def test_expect_100_continue_is_answered_before_the_body_is_sent(door):
    with socket.create_connection(("127.0.0.1", door), timeout=10) as conn:
        conn.sendall(b"PUT /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n")
        assert conn.recv(100) == b"HTTP/1.1 100 Continue\r\n\r\n"
        conn.sendall(b"hello")
        conn.shutdown(socket.SHUT_WR)
        [(status, _, body)] = responses(read_all(conn))
    assert status == 200 and json.loads(body)["body_length"] == 5 and "EXPECT" not in json.loads(body)["headers"]


@pytest.mark.parametrize("head", [
    b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n" % (MAX_BODY + 1),
    b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\nExpect: 100-continue\r\n\r\n" % (MAX_BODY + 1),
    b"POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n%x\r\n" % (MAX_BODY + 1)
    + b"x" * (MAX_BODY + 1) + b"\r\n0\r\n\r\n",
], ids=["content-length", "expect-100", "chunked"])
def test_a_body_over_the_limit_is_refused_with_413_and_json(door, head):
    [(status, headers, body)] = responses(exchange(door, head))
    assert status == 413 and headers["content-type"] == "application/json"
    assert str(MAX_BODY) in json.loads(body)["detail"]


MALFORMED = {
    "content-length and chunked": (400, b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n"
                                        b"Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n"),
    "two content-lengths": (400, b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\nabcd"),
    "signed content-length": (400, b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: +3\r\n\r\nabc"),
    "other transfer coding": (501, b"POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip, chunked\r\n\r\n"),
    "chunk size not hex": (400, b"POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n"),
    "chunk longer than said": (400, b"POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
                                    b"2\r\nabc\r\n0\r\n\r\n"),
    "folded header": (400, b"GET /echo HTTP/1.1\r\nHost: x\r\nX-A: 1\r\n  folded\r\n\r\n"),
    "space before colon": (400, b"GET /echo HTTP/1.1\r\nHost : x\r\n\r\n"),
    "header without colon": (400, b"GET /echo HTTP/1.1\r\nHost x\r\n\r\n"),
    "NUL in a header value": (400, b"GET /echo HTTP/1.1\r\nHost: x\r\nX-A: a\0b\r\n\r\n"),
    "bare CR in a header value": (400, b"GET /echo HTTP/1.1\r\nHost: x\r\nX-A: a\rb\r\n\r\n"),
    "DEL in a header value": (400, b"GET /echo HTTP/1.1\r\nHost: x\r\nX-A: a\x7fb\r\n\r\n"),
    "space in the target": (400, b"GET /echo x HTTP/1.1\r\nHost: x\r\n\r\n"),
    "control character in the target": (400, b"GET /ec\x01ho HTTP/1.1\r\nHost: x\r\n\r\n"),
    "non-ASCII target": (400, "GET /é HTTP/1.1\r\nHost: x\r\n\r\n".encode()),
    "no version": (400, b"GET /echo\r\nHost: x\r\n\r\n"),
    "HTTP/2.0": (400, b"GET /echo HTTP/2.0\r\nHost: x\r\n\r\n"),
    "method with a slash": (400, b"GE/T /echo HTTP/1.1\r\nHost: x\r\n\r\n"),
    "header line over 64 KiB": (431, b"GET /echo HTTP/1.1\r\nHost: x\r\nX-A: " + b"a" * 70_000 + b"\r\n\r\n"),
    "101 headers": (431, b"GET /echo HTTP/1.1\r\n" + b"".join(b"X-%d: 1\r\n" % n for n in range(101)) + b"\r\n"),
    "head cut short": (400, b"GET /echo HTTP/1.1\r\nHost: x\r\n"),
}


@pytest.mark.parametrize("expected,request_bytes", MALFORMED.values(), ids=MALFORMED.keys())
def test_a_malformed_request_is_refused_with_json_and_never_reaches_the_web_server(door, expected, request_bytes):
    [(status, headers, body)] = responses(exchange(door, request_bytes))
    assert status == expected, body
    assert headers["content-type"] == "application/json" and headers["connection"] == "close"
    assert json.loads(body)["detail"]


def test_slow_clients_are_cut_off_while_everyone_else_is_served(door):
    """The web server has 2 threads; 40 clients sending a header line every 0.4 s would hold them all."""
    slow = []
    for _ in range(40):
        conn = socket.create_connection(("127.0.0.1", door), timeout=10)
        conn.sendall(b"GET /echo HTTP/1.1\r\nHost: x\r\n")
        slow.append(conn)
    body_dribbler = socket.create_connection(("127.0.0.1", door), timeout=10)
    body_dribbler.sendall(b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n\r\n")
    started = time.monotonic()
    served = 0
    while time.monotonic() - started < 0.9:  # within the 1 s header timeout the slow ones are still held
        for conn in slow:
            conn.sendall(b"X-Slow: 1\r\n")
        body_dribbler.sendall(b"x")
        assert requests.get(f"http://127.0.0.1:{door}/echo", timeout=5).status_code == 200
        served += 1
    assert served >= 2
    for conn in slow + [body_dribbler]:
        answer = responses(read_all(conn))
        conn.close()
        assert [status for status, _, _ in answer] == [408]
        assert "slowly" in json.loads(answer[0][2])["detail"] or "in time" in json.loads(answer[0][2])["detail"]


def test_an_idle_keep_alive_connection_is_closed_without_an_answer(door):
    with socket.create_connection(("127.0.0.1", door), timeout=10) as conn:
        conn.sendall(b"GET /echo HTTP/1.1\r\nHost: x\r\n\r\n")
        received = b""
        while not (received.endswith(b"}") and b"\r\n\r\n" in received):
            received += conn.recv(65536)
        assert received.startswith(b"HTTP/1.1 200")
        assert read_all(conn) == b"", "after the header timeout the connection ends, with no 408 for a request never sent"


def test_an_answer_is_streamed_as_the_web_server_writes_it(door, tmp_path):
    flag = tmp_path / "go"
    with socket.create_connection(("127.0.0.1", door), timeout=20) as conn:
        conn.sendall(b"GET /stream?flag=%s HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n" % str(flag).encode())
        received = b""
        while b"first piece" not in received:
            received += conn.recv(65536)  # would time out if the front door waited for the whole answer
        assert b"second piece" not in received
        flag.touch()
        received += read_all(conn)
    assert b"Transfer-Encoding: chunked" in received and received.endswith(b"0\r\n\r\n")
    assert b"second piece" in received


def test_a_large_answer_arrives_whole(door):
    answer = requests.get(f"http://127.0.0.1:{door}/big?size={5 * 1024 * 1024}", timeout=30)
    assert hashlib.sha256(answer.content).hexdigest() == answer.headers["X-Sha256"]


def test_with_the_web_server_down_the_answer_is_502_json(tmp_path):
    port = free_port()
    process = start_front_door(f"unix:{tmp_path}/nothing.sock", port)
    try:
        [(status, headers, body)] = responses(exchange(port, b"GET / HTTP/1.1\r\nHost: x\r\n\r\n"))
        assert status == 502 and "not answering" in json.loads(body)["detail"]
    finally:
        stop(process)


def test_over_the_connection_cap_a_client_gets_503(upstream):
    port = free_port()
    process = start_front_door(f"unix:{upstream.path}", port, "--max-connections", "3")
    time.sleep(0.3)  # the connection that found it listening is let go
    held = [socket.create_connection(("127.0.0.1", port), timeout=10) for _ in range(3)]
    try:
        time.sleep(0.2)
        [(status, _, body)] = responses(exchange(port, b"GET /echo HTTP/1.1\r\nHost: x\r\n\r\n"))
        assert status == 503 and "too many connections" in json.loads(body)["detail"]
    finally:
        for conn in held:
            conn.close()
        stop(process)


def test_on_sigterm_a_request_in_hand_is_answered_and_idle_connections_are_closed(upstream):
    port = free_port()
    process = start_front_door(f"unix:{upstream.path}", port)
    try:
        idle = socket.create_connection(("127.0.0.1", port), timeout=10)
        busy = socket.create_connection(("127.0.0.1", port), timeout=10)
        busy.sendall(b"GET /sleep?seconds=1.5 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        time.sleep(0.3)
        process.send_signal(signal.SIGTERM)
        [(status, _, body)] = responses(read_all(busy))
        assert status == 200 and json.loads(body)["query"] == "seconds=1.5"
        assert read_all(idle) == b""
        assert process.wait(10) == 0
        assert not connects(socket.AF_INET, ("127.0.0.1", port))
    finally:
        stop(process)


ECHO = b"GET /echo HTTP/1.1\r\nHost: x\r\n\r\n"
POST = b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello"


def test_requests_one_after_another_share_one_connection_to_the_web_server(door):
    numbers = [seen_by_upstream(door, ECHO)["connection"] for _ in range(5)]
    assert len(set(numbers)) == 1, numbers
    assert seen_by_upstream(door, POST)["connection"] == numbers[0]


@pytest.fixture
def door_of(upstream):
    started = []

    def start(*extra: str) -> int:
        port = free_port()
        started.append(start_front_door(f"unix:{upstream.path}", port, *extra))
        return port

    yield start
    for process in started:
        stop(process)


def test_a_connection_idle_past_upstream_idle_is_not_used_again(door_of):
    port = door_of("--upstream-idle", "0.3")
    first = seen_by_upstream(port, ECHO)["connection"]
    assert seen_by_upstream(port, ECHO)["connection"] == first
    time.sleep(0.6)
    assert seen_by_upstream(port, ECHO)["connection"] != first


def test_a_kept_connection_the_web_server_closed_is_replaced_for_any_method(door_of):
    port = door_of("--upstream-idle", "30")  # longer than gunicorn's own keep-alive (2 s here)
    first = seen_by_upstream(port, ECHO)["connection"]
    time.sleep(2.5)
    after_get = seen_by_upstream(port, ECHO)
    assert after_get["connection"] != first
    time.sleep(2.5)
    after_post = seen_by_upstream(port, POST)
    assert after_post["method"] == "POST" and after_post["body_length"] == 5
    assert after_post["connection"] != after_get["connection"]


def test_with_upstream_idle_0_each_request_has_a_connection_of_its_own(door_of):
    port = door_of("--upstream-idle", "0")
    seen = [seen_by_upstream(port, ECHO) for _ in range(3)]
    assert len({s["connection"] for s in seen}) == 3
    assert {s["headers"]["CONNECTION"] for s in seen} == {"close"}
