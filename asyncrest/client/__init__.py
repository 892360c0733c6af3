"""A Python client for an asyncrest server: place an order, wait for it with a progress bar, collect the result.

It needs only `requests` (and `tqdm` for the progress bar) and imports nothing from
Django, so scripts can use it without the server's code or settings::

    from asyncrest.client import AsyncRestClient

    client = AsyncRestClient("http://127.0.0.1:8000", token="…")
    order = client.order("tagging", json={"entries": ["wrote a program using Python Django"]})
    done = client.wait(order, timeout=600, progress=True)
    print(client.result(done))
"""
from __future__ import annotations

import functools
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import IO, Any

import requests

__all__ = [
    "AsyncRestClient", "AsyncRestError", "Order", "OrderCancelled", "OrderFailed", "RequestFailed", "WaitTimeout",
]

PENDING = ("queued", "running")


class AsyncRestError(Exception):
    """The root of the client's errors."""


class RequestFailed(AsyncRestError):
    """The server answered with an error status (400, 401, 404, 413, 429, 5xx …)."""

    def __init__(self, response: requests.Response) -> None:
        self.response = response
        self.status_code = response.status_code
        try:
            self.detail = response.json()
        except ValueError:
            self.detail = response.text[:500]
        text = self.detail.get("detail", self.detail) if isinstance(self.detail, dict) else self.detail
        super().__init__(f"{response.request.method} {response.url} answered {self.status_code}: {text}")


class OrderFailed(AsyncRestError):
    """The order finished without a result: its `code` and `message` say why."""

    def __init__(self, order: Order) -> None:
        self.order = order
        error = order.error or {}
        self.code: str = error.get("code") or order.status
        self.message: str = error.get("message") or f"The order was {order.status}."
        super().__init__(f"{self.code}: {self.message}")


class OrderCancelled(OrderFailed):
    """The order was cancelled before it finished."""


class WaitTimeout(AsyncRestError, TimeoutError):
    """The order was still pending when the caller's timeout ran out; it goes on on the server."""

    def __init__(self, order: Order, timeout: float) -> None:
        self.order = order
        super().__init__(f"order {order.url} still {order.status} after {timeout:g} s")


@dataclass(frozen=True)
class Order:
    """An order as the server last described it; `data` holds every field it sent."""

    url: str
    id: str = ""
    resource: str = ""
    status: str = "queued"
    progress: float = 0.0
    processed: int = 0
    total: int | None = None
    message: str = ""
    resource_url: str | None = None
    error: dict | None = None
    data: dict = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def from_json(cls, data: dict, url: str | None = None) -> Order:
        """Build an order from the server's JSON; `url` (the `Location` header) wins over the body's."""
        names = ("id", "resource", "status", "progress", "processed", "total", "message", "resource_url", "error")
        return cls(url=url or data["url"], data=data, **{name: data[name] for name in names if name in data})

    @property
    def pending(self) -> bool:
        return self.status in PENDING


OrderLike = Order | str


class AsyncRestClient:
    """Talk to one asyncrest server with a token: order, wait, collect, cancel."""

    def __init__(
        self, base_url: str, token: str | None = None, *, session: requests.Session | None = None,
        timeout: float = 30.0, poll_wait: int = 25,
    ) -> None:
        self.base_url = base_url.rstrip("/") + "/"
        self.session = session or requests.Session()
        if token:
            self.session.headers["Authorization"] = f"Token {token}"
        self.session.headers.setdefault("Accept", "application/json")
        # Seconds to connect and to read an ordinary answer; long polls add their wait.
        self.timeout = timeout
        # Seconds each status request asks the server to hold it (`Prefer: wait`); 0 polls instead.
        self.poll_wait = poll_wait

    def __enter__(self) -> AsyncRestClient:
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()

    def close(self) -> None:
        self.session.close()

    def order(
        self, resource: str, json: dict | None = None, *, csv: str | os.PathLike | IO[bytes] | None = None,
        idempotency_key: str | None = None, wait: int = 0,
    ) -> Order:
        """Place an order for `resource` with a JSON body or a CSV file (multipart field `file`).

        `wait=N` asks the server to hold the answer until the order is finished or N
        seconds pass (`Prefer: wait=N`): a quick order comes back finished, in one request.
        """
        url = f"{self.base_url}async/{resource}/order/"
        headers = {"Idempotency-Key": idempotency_key} if idempotency_key else {}
        if wait >= 1:
            headers["Prefer"] = f"wait={wait}"
        send = functools.partial(self._request, "POST", url, headers=headers, read_timeout=self.timeout + wait)
        if csv is None:
            response = send(json=json or {})
        elif isinstance(csv, (str, os.PathLike)):
            path = Path(csv)
            with path.open("rb") as handle:
                response = send(data=json or {}, files={"file": (path.name, handle, "text/csv")})
        else:
            response = send(data=json or {}, files={"file": (Path(getattr(csv, "name", "entries.csv")).name, csv,
                                                             "text/csv")})
        # A finished order's answer points `Location` at its result and `Content-Location` at the order.
        order_url = response.headers.get("Content-Location") or response.headers.get("Location")
        return Order.from_json(response.json(), url=order_url)

    def get(self, order: OrderLike) -> Order:
        """Return the order as the server describes it now."""
        response = self._request("GET", self._url(order))
        return Order.from_json(response.json())

    def wait(
        self, order: OrderLike, timeout: float | None = None, progress: bool = False,
        on_progress: Callable[[Order], Any] | None = None,
    ) -> Order:
        """Wait until the order finishes and return it; raise `OrderFailed`, or `WaitTimeout` after `timeout` s.

        Each status request is a long poll (`Prefer: wait`, with the last `ETag` in
        `If-None-Match`), so a change is seen as soon as the server publishes it; a server
        that does not hold requests is polled after its `Retry-After`. `progress=True`
        draws a tqdm bar on stderr; `on_progress` is called with each changed order.
        """
        deadline = None if timeout is None else time.monotonic() + timeout
        url = self._url(order)
        current = order if isinstance(order, Order) else None
        bar = ProgressBar() if progress else None
        etag = None
        first = True
        try:
            while current is None or current.pending:
                remaining = None if deadline is None else deadline - time.monotonic()
                if remaining is not None and remaining <= 0:
                    raise WaitTimeout(current or Order(url=url), timeout)
                # The first request reads the order as it is now; the next ones wait for a change.
                response = self._poll(url, etag, 0 if first else self._wait_seconds(remaining))
                if response.status_code != 304:
                    etag = response.headers.get("ETag")
                    changed = Order.from_json(response.json())
                    if current is None or changed.data != current.data:
                        if bar is not None:
                            bar.update(changed)
                        if on_progress is not None:
                            on_progress(changed)
                    current = changed
                if current.pending and not first and "Preference-Applied" not in response.headers:
                    # The server did not hold the request (or the deadline is near): poll politely.
                    self._sleep(retry_after(response), deadline)
                first = False
        finally:
            if bar is not None:
                bar.close()
        if current.status == "cancelled":
            raise OrderCancelled(current)
        if current.status == "failed":
            raise OrderFailed(current)
        return current

    def result(self, order: OrderLike) -> Any:
        """Return the JSON of a completed order's resource."""
        finished = order if isinstance(order, Order) and order.resource_url else self.get(order)
        if not finished.resource_url:
            raise AsyncRestError(f"order {finished.url} is {finished.status}; it has no result")
        return self._request("GET", finished.resource_url).json()

    def cancel(self, order: OrderLike) -> Order:
        """Cancel the order: at once if it is queued, at its next progress step if it runs."""
        response = self._request("DELETE", self._url(order))
        return Order.from_json(response.json())

    def retry(self, order: OrderLike, *, idempotency_key: str | None = None) -> Order:
        """Place a new order that redoes only what the finished `order` did not do (its failed parts
        or items); `RequestFailed` with 409 if it is pending or nothing of it failed."""
        headers = {"Idempotency-Key": idempotency_key} if idempotency_key else {}
        response = self._request("POST", self._url(order).rstrip("/") + "/retry/", headers=headers)
        return Order.from_json(response.json(), response.headers.get("Location"))

    def _wait_seconds(self, remaining: float | None) -> int:
        """Return how long to ask the server to hold a request: `poll_wait`, never past the caller's deadline."""
        return self.poll_wait if remaining is None else min(self.poll_wait, int(remaining))

    def _poll(self, url: str, etag: str | None, wait: int) -> requests.Response:
        """GET the order; with `wait`, ask the server to hold the request until it changes from `etag`."""
        headers = {}
        if etag:
            headers["If-None-Match"] = etag
        if wait >= 1:
            headers["Prefer"] = f"wait={wait}"
        return self._request("GET", url, headers=headers, read_timeout=self.timeout + wait)

    def _sleep(self, seconds: float, deadline: float | None) -> None:
        if deadline is not None:
            seconds = min(seconds, max(0.0, deadline - time.monotonic()))
        time.sleep(seconds)

    def _url(self, order: OrderLike) -> str:
        return order.url if isinstance(order, Order) else order

    def _request(self, method: str, url: str, *, read_timeout: float | None = None, **kwargs) -> requests.Response:
        response = self.session.request(method, url, timeout=(self.timeout, read_timeout or self.timeout), **kwargs)
        if response.status_code >= 400:
            raise RequestFailed(response)
        return response


def retry_after(response: requests.Response, default: float = 1.0) -> float:
    """Return the seconds a `Retry-After` header asks for (delta-seconds or an HTTP date)."""
    value = response.headers.get("Retry-After", "").strip()
    if not value:
        return default
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        return max(0.0, parsedate_to_datetime(value).timestamp() - time.time())
    except (TypeError, ValueError):
        return default


class ProgressBar:
    """A tqdm bar on stderr that shows an order's processed/total and its message."""

    def __init__(self, file: IO[str] | None = None) -> None:
        from tqdm import tqdm  # only needed for the bar

        self.bar = tqdm(total=None, unit="item", desc="queued", file=file, dynamic_ncols=True)
        self.message = ""

    def update(self, order: Order) -> None:
        if order.message and order.message != self.message and self.message:
            # A new phase ("Reading the CSV file", then "Tagging entries") counts from zero again.
            self.bar.reset(total=order.total or None)
        self.message = order.message or self.message
        if order.total and self.bar.total != order.total:
            self.bar.total = order.total
        self.bar.n = order.processed
        self.bar.set_description_str(order.message or order.status, refresh=False)
        self.bar.refresh()

    def close(self) -> None:
        self.bar.close()
