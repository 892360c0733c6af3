"""One webhook request, with a total deadline: a receiver that trickles its answer cannot hold a worker.

An HTTP client's timeouts apply to each read, so a receiver sending one byte every few
seconds can hold a request for as long as it likes. Here every step (connect, TLS
handshake, send, each read) gets only what is left of one deadline, and only the status
line is read: the answer's body is not used.
"""
from __future__ import annotations

import socket
import ssl
import time

#: The longest status line read; anything longer is not HTTP.
MAX_STATUS_LINE = 8 * 1024


class DeliveryTimeout(TimeoutError):
    """The receiver did not answer within the delivery's deadline."""


def post(address: str, port: int, *, host: str, https: bool, target: str, headers: dict[str, str], body: bytes,
         timeout: float) -> int:
    """POST `body` to `address:port` (TLS verified for `host` if `https`) and return the answer's status code.

    Raises `DeliveryTimeout` past `timeout` seconds in all, `OSError` if the connection
    fails, and `ValueError` if the answer is not HTTP.
    """
    deadline = time.monotonic() + timeout

    def left() -> float:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise DeliveryTimeout(f"the receiver did not answer within {timeout:g} s")
        return remaining

    try:
        connection = socket.create_connection((address, port), timeout=left())
    except TimeoutError as exc:
        raise DeliveryTimeout(f"no connection within {timeout:g} s") from exc
    try:
        if https:
            connection.settimeout(left())
            connection = ssl.create_default_context().wrap_socket(connection, server_hostname=host)
        lines = [f"POST {target} HTTP/1.1", *(f"{name}: {value}" for name, value in headers.items()),
                 f"content-length: {len(body)}", "connection: close", "", ""]
        connection.settimeout(left())
        connection.sendall("\r\n".join(lines).encode("latin-1") + body)
        received = b""
        while b"\r\n" not in received:
            connection.settimeout(left())
            try:
                chunk = connection.recv(1024)
            except TimeoutError as exc:
                raise DeliveryTimeout(f"the receiver did not answer within {timeout:g} s") from exc
            if not chunk or len(received) > MAX_STATUS_LINE:
                break
            received += chunk
    finally:
        connection.close()
    return status_code(received.split(b"\r\n", 1)[0])


def status_code(line: bytes) -> int:
    """The status code of an HTTP status line such as `HTTP/1.1 204 No Content`."""
    parts = line.split(b" ", 2)
    if len(parts) < 2 or not parts[0].startswith(b"HTTP/") or not (parts[1].isdigit() and len(parts[1]) == 3):
        raise ValueError(f"the receiver's answer is not HTTP: {line[:80]!r}")
    return int(parts[1])
