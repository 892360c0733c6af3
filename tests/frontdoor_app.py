"""The WSGI app behind the front door in tests/asyncrest/test_frontdoor.py: it says what reached it."""
import hashlib
import itertools
import json
import os
import threading
import time
import weakref
from pathlib import Path
from urllib.parse import parse_qs

from asyncrest.frontdoor import behind_front_door


_connections: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
_numbers, _lock = itertools.count(1), threading.Lock()


def connection_number(environ) -> int:
    """The number of the connection the request came on: 1 for gunicorn's first, and so on."""
    with _lock:
        sock = environ["gunicorn.socket"]
        if sock not in _connections:
            _connections[sock] = next(_numbers)
        return _connections[sock]


def echo(environ, start_response):
    query = parse_qs(environ.get("QUERY_STRING", ""))
    path = environ["PATH_INFO"]
    if path == "/stream":
        # Holds back its second piece until the test, having read the first, creates the flag file.
        flag = Path(query["flag"][0])

        def pieces():
            yield b"first piece\n"
            while not flag.exists():
                time.sleep(0.05)
            yield b"second piece\n"

        start_response("200 OK", [("Content-Type", "text/plain")])
        return pieces()
    if path == "/big":
        body = os.urandom(int(query["size"][0]))
        start_response("200 OK", [("Content-Type", "application/octet-stream"),
                                  ("Content-Length", str(len(body))), ("X-Sha256", hashlib.sha256(body).hexdigest())])
        return [body]
    if path == "/sleep":
        time.sleep(float(query["seconds"][0]))
    body = environ["wsgi.input"].read()
    seen = {
        "method": environ["REQUEST_METHOD"], "path": path, "query": environ.get("QUERY_STRING", ""),
        "remote_addr": environ.get("REMOTE_ADDR"), "content_length": environ.get("CONTENT_LENGTH"),
        "body_sha256": hashlib.sha256(body).hexdigest(), "body_length": len(body),
        "headers": {key[5:]: value for key, value in environ.items() if key.startswith("HTTP_")},
        "connection": connection_number(environ),
    }
    data = json.dumps(seen).encode()
    start_response("200 OK", [("Content-Type", "application/json"), ("Content-Length", str(len(data)))])
    return [data]


application = behind_front_door(echo)
