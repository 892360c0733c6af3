"""config/nginx.conf, compose's `proxy`, run by Debian's nginx in front of a real gunicorn with 2 threads.

Only the two addresses differ from the file compose mounts: `web:8000` becomes the test's
gunicorn, `listen 8000` a free loopback port.
"""
import json
import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

from asyncrest.broker.embedded import free_port

ROOT = Path(__file__).resolve().parent.parent
CONF = (ROOT / "config" / "nginx.conf").read_text()
NGINX = shutil.which("nginx") or "/usr/sbin/nginx"


def nginx_missing() -> str | None:
    if not os.access(NGINX, os.X_OK):
        return "no nginx (apt-get install nginx-light; .ci/run does)"
    return None


def listening(address) -> bool:
    try:
        socket.create_connection(address, timeout=1).close()
        return True
    except OSError:
        return False


def wait_until(predicate, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what}")
        time.sleep(0.05)


@pytest.fixture(scope="module")
def proxy(tmp_path_factory):
    reason = nginx_missing()
    if reason:
        if os.environ.get("CI"):
            pytest.fail(reason)
        pytest.skip(reason)
    directory = tmp_path_factory.mktemp("nginx")
    web_port, port = free_port(), free_port()
    gunicorn = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "tests.frontdoor_app:echo", "--bind", f"127.0.0.1:{web_port}",
         "--workers", "1", "--threads", "2", "--worker-class", "gthread", "--log-level", "warning",
         "--control-socket", f"{directory}/gunicorn.ctl"],
        cwd=ROOT,
    )
    site = CONF.replace("server web:8000;", f"server 127.0.0.1:{web_port};")
    site = site.replace("listen 8000;", f"listen 127.0.0.1:{port};")
    assert site.count(str(port)) == 1 and site.count(str(web_port)) == 1, "config/nginx.conf changed shape"
    (directory / "site.conf").write_text(site)
    temp = "".join(f"{kind}_temp_path {directory}/{kind};\n" for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"))
    (directory / "nginx.conf").write_text(
        ("user root;\n" if os.geteuid() == 0 else "")
        + f"worker_processes 1;\npid {directory}/nginx.pid;\nerror_log {directory}/error.log;\n"
        f"events {{}}\nhttp {{\naccess_log off;\n{temp}include {directory}/site.conf;\n}}\n"
    )
    nginx = subprocess.Popen([NGINX, "-e", f"{directory}/error.log", "-p", str(directory), "-c",
                              f"{directory}/nginx.conf", "-g", "daemon off;"])
    wait_until(lambda: listening(("127.0.0.1", web_port)) and listening(("127.0.0.1", port)), 30, "nginx and gunicorn")
    yield f"127.0.0.1:{port}", port, gunicorn
    for process in (nginx, gunicorn):
        if process.poll() is None:
            process.terminate()
            process.wait(30)


def test_slow_clients_are_held_by_nginx_and_cut_off_while_everyone_else_is_served(proxy):
    address, port, _ = proxy
    slow_headers = []
    for _ in range(60):
        conn = socket.create_connection(("127.0.0.1", port), timeout=30)
        conn.sendall(b"GET /echo HTTP/1.1\r\nHost: x\r\n")
        slow_headers.append(conn)
    slow_bodies = []
    for _ in range(20):
        conn = socket.create_connection(("127.0.0.1", port), timeout=30)
        conn.sendall(b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n\r\n")
        slow_bodies.append(conn)
    started, answers = time.monotonic(), []
    while time.monotonic() - started < 8:  # all 80 are held: the header deadline is 10 s
        for conn in slow_headers:
            conn.sendall(b"X-Slow: 1\r\n")
        for conn in slow_bodies:
            conn.sendall(b"x")
        answers.append(requests.get(f"http://{address}/echo", timeout=5).status_code)
        time.sleep(0.5)
    assert len(answers) >= 8 and set(answers) == {200}, answers
    for conn in slow_headers:  # nginx ends the connection at the deadline (it logs a 408, sends nothing)
        with conn:
            conn.settimeout(10)
            received = conn.recv(4096)
        assert received == b"" or received.startswith(b"HTTP/1.1 408"), received
    for conn in slow_bodies:
        conn.close()


def test_a_body_over_the_limit_is_refused_as_json_before_it_is_sent(proxy):
    address, port, _ = proxy
    with socket.create_connection(("127.0.0.1", port), timeout=10) as conn:
        conn.sendall(b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n" % (60 * 1024 * 1024))
        answer = conn.recv(65536)
    head, _, body = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 413") and b"application/json" in head
    assert "51 MiB" in json.loads(body)["detail"]


def test_the_request_reaches_gunicorn_whole_with_the_address_nginx_saw(proxy):
    address, _, _ = proxy

    def chunks():
        yield b"a" * 70_000
        yield b"b" * 70_000

    seen = requests.post(f"http://{address}/echo", data=chunks(),
                         headers={"X-Forwarded-For": "198.51.100.66"}, timeout=10).json()
    assert seen["content_length"] == "140000" and seen["body_length"] == 140_000, "dechunked and buffered"
    assert seen["headers"]["X_FORWARDED_FOR"] == "198.51.100.66, 127.0.0.1", "PROXY_HOPS=1 takes the last"
    assert seen["headers"]["X_FORWARDED_PROTO"] == "http"
    seen = requests.get(f"http://{address}/echo", headers={"X-Forwarded-Proto": "https"}, timeout=10).json()
    assert seen["headers"]["X_FORWARDED_PROTO"] == "https", "behind a TLS proxy its scheme is kept"


@pytest.mark.parametrize("request_bytes,status", [
    (b"GET /echo HTTP/1.1\r\nHost: x\r\nHost: y\r\n\r\n", 400),
    (b"GET /echo HTTP/1.1\r\nHost: x\r\nX-A: " + b"a" * 20_000 + b"\r\n\r\n", 431),
])
def test_nginx_refusals_are_json(proxy, request_bytes, status):
    _, port, _ = proxy
    with socket.create_connection(("127.0.0.1", port), timeout=10) as conn:
        conn.sendall(request_bytes)
        answer = b""
        while chunk := conn.recv(65536):
            answer += chunk
    head, _, body = answer.partition(b"\r\n\r\n")
    assert head.split()[1] == str(status).encode() and b"application/json" in head, head
    assert json.loads(body)["detail"]


def test_with_gunicorn_down_the_answer_is_502_json(proxy):
    address, _, gunicorn = proxy
    gunicorn.terminate()
    gunicorn.wait(30)
    answer = requests.get(f"http://{address}/echo", timeout=10)
    assert answer.status_code == 502 and "not answering" in answer.json()["detail"]
