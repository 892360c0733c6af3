"""An HTTP load generator for the benchmarks: N client processes, each with one keep-alive connection.

Each client is its own process (no GIL shared between clients, as with N separate
programs) and speaks HTTP/1.1 through `http.client`, which costs the client far less CPU
than `requests`, so that the figures are the server's rather than the load generator's.

Two modes:

- closed loop (`rate=None`): every client sends its next request as soon as the last one
  is answered; this measures capacity, and the latency it reports is mostly queueing
  (Little's law: latency = clients / throughput);
- paced (`rate=R` requests/s in all): request j is due at `start + j / R`, the clients
  taking turns; a client that falls behind sends at once, and the latency of every request
  is counted from when it was due, not when it was sent, so a stall is not hidden by the
  requests it delayed (no coordinated omission).
"""
from __future__ import annotations

import http.client
import multiprocessing
import time
from dataclasses import dataclass, field
from urllib.parse import urlsplit


@dataclass(frozen=True)
class Request:
    method: str
    path: str
    body: bytes | None = None
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class Result:
    """What a load run saw: per-request latencies (seconds), status counts and the wall time."""

    latencies: list[float]
    statuses: dict[int, int]
    seconds: float
    errors: list[str]

    @property
    def count(self) -> int:
        return len(self.latencies)

    @property
    def per_second(self) -> float:
        return self.count / self.seconds if self.seconds else 0.0

    def percentile_ms(self, p: float) -> float:
        values = sorted(self.latencies)
        return values[min(len(values) - 1, int(round(p / 100 * (len(values) - 1))))] * 1000

    def summary(self) -> str:
        return (f"{self.count:,} requests in {self.seconds:.2f} s = {self.per_second:,.0f}/s; "
                f"latency p50 {self.percentile_ms(50):.1f} ms, p99 {self.percentile_ms(99):.1f} ms, "
                f"max {self.percentile_ms(100):.1f} ms")


def run(url: str, requests: list[Request], *, clients: int = 8, rate: float | None = None,
        expect: tuple[int, ...] = (200,)) -> Result:
    """Send `requests` (in order, the clients taking turns) to the server at `url`; return what was seen.

    Client i sends requests i, i + clients, i + 2 * clients, ... `expect` lists the status
    codes that count as answers; any other status (or a broken connection) is an error.
    """
    context = multiprocessing.get_context("fork")
    ready = context.Barrier(clients + 1)
    start_at = context.Value("d", 0.0)
    results = context.Queue()
    processes = [
        context.Process(
            target=_client, args=(url, requests[index::clients], index, clients, rate, expect, ready, start_at, results),
            daemon=True,
        )
        for index in range(clients)
    ]
    for process in processes:
        process.start()
    ready.wait()  # every client connected
    start_at.value = time.monotonic() + 0.2
    ready.wait()
    collected = [results.get() for _ in processes]
    for process in processes:
        process.join()
    latencies = [value for part in collected for value in part["latencies"]]
    statuses: dict[int, int] = {}
    for part in collected:
        for code, count in part["statuses"].items():
            statuses[code] = statuses.get(code, 0) + count
    finished = max(part["finished"] for part in collected)
    errors = [error for part in collected for error in part["errors"]]
    return Result(latencies, statuses, finished - start_at.value, errors)


def _client(url, requests, index, clients, rate, expect, ready, start_at, results) -> None:
    parts = urlsplit(url)
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=60)
    connection.connect()
    latencies, statuses, errors = [], {}, []
    ready.wait()
    ready.wait()
    start = start_at.value
    while time.monotonic() < start:
        time.sleep(0.001)
    for turn, request in enumerate(requests):
        if rate:
            due = start + (turn * clients + index) / rate
            delay = due - time.monotonic()
            if delay > 0:
                time.sleep(delay)
        else:
            due = time.monotonic()
        try:
            connection.request(request.method, request.path, body=request.body, headers=request.headers)
            response = connection.getresponse()
            body = response.read()
        except (OSError, http.client.HTTPException) as exc:
            errors.append(f"{request.method} {request.path}: {exc!r}")
            connection.close()
            connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=60)
            continue
        latencies.append(time.monotonic() - due)
        statuses[response.status] = statuses.get(response.status, 0) + 1
        if response.status not in expect and len(errors) < 5:
            errors.append(f"{request.method} {request.path} answered {response.status}: {body[:300]!r}")
    connection.close()
    results.put({"latencies": latencies, "statuses": statuses, "errors": errors, "finished": time.monotonic()})
