"""Long polls of an order: the `Prefer: wait` header, the order's ETag, the cap on held requests, the waits."""
from __future__ import annotations

import contextlib
import hashlib
import json
import re
import threading
import time
from collections.abc import Callable, Iterator

from django.core.serializers.json import DjangoJSONEncoder

from .. import conf
from ..broker.pubsub import watch

# The elements of a comma-separated header; a quoted string may hold commas.
_ELEMENT = re.compile(r'(?:[^,"]|"(?:[^"\\]|\\.)*")+')
# A preference of RFC 7240: `token [ "=" word ] *( ";" parameter )`; its parameters are not used here.
_PREFERENCE = re.compile(r'\s*([^\s=;"]+)\s*(?:=\s*("(?:[^"\\]|\\.)*"|[^\s;"]*))?')


def parse_prefer(header: str | None) -> dict[str, str]:
    """Return the preferences of a `Prefer` header as {lower-case name: value}; the first of a name wins."""
    preferences: dict[str, str] = {}
    for element in _ELEMENT.findall(header or ""):
        match = _PREFERENCE.match(element)
        if not match:
            continue  # a malformed element is ignored, the others still count (RFC 7240, section 2)
        value = match[2] or ""
        if value.startswith('"'):
            value = re.sub(r"\\(.)", r"\1", value[1:-1])
        preferences.setdefault(match[1].lower(), value)
    return preferences


def requested_wait(header: str | None) -> int:
    """Return the seconds a `Prefer: wait=N` header asks to wait, capped at `LONG_POLL_MAX_WAIT`; 0 if none."""
    value = parse_prefer(header).get("wait", "")
    if not re.fullmatch(r"[0-9]+", value):
        return 0  # an unreadable preference is ignored, not an error (RFC 7240, section 2)
    # More digits than int() takes (4,300) still only means "as long as you allow".
    digits = value.lstrip("0") or "0"
    seconds = int(digits) if len(digits) <= 9 else 10**9
    return min(seconds, int(conf.get("LONG_POLL_MAX_WAIT")))


def order_etag(data: dict) -> str:
    """Return a weak ETag of an order's representation: it changes whenever the client would see a change."""
    text = json.dumps(data, sort_keys=True, cls=DjangoJSONEncoder)
    return f'W/"{hashlib.sha256(text.encode()).hexdigest()[:32]}"'


def parse_etags(header: str | None) -> list[str]:
    """Return the entity tags of an `If-None-Match` header without their weak prefix; `*` stays `*`."""
    if not header:
        return []
    if header.strip() == "*":
        return ["*"]
    return [tag.removeprefix("W/") for tag in re.findall(r'(?:W/)?"[^"]*"', header)]


def etag_matches(tags: list[str], etag: str) -> bool:
    """Return whether `etag` is among `tags`, by the weak comparison that `If-None-Match` uses."""
    return "*" in tags or etag.removeprefix("W/") in {tag.removeprefix("W/") for tag in tags}


class Slots:
    """Count the long polls this process holds, so they never take every server thread."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.held = 0

    @contextlib.contextmanager
    def take(self) -> Iterator[bool]:
        """Yield True with a slot taken, or False when `LONG_POLL_SLOTS` are all held."""
        with self._lock:
            granted = self.held < int(conf.get("LONG_POLL_SLOTS"))
            if granted:
                self.held += 1
        try:
            yield granted
        finally:
            if granted:
                with self._lock:
                    self.held -= 1


slots = Slots()


def wait_until_finished(order, wait: int):
    """Hold the request until `order` is finished or `wait` seconds pass (`Prefer: wait=N` on POST).

    Return the order as last read, and whether the request waited: with every long-poll
    slot of this process taken it does not, and the client polls as usual.
    """
    from ..models import Order

    with slots.take() as granted:
        if not granted:
            return order, False
        deadline = time.monotonic() + wait

        def read():
            return Order.objects.for_display().get(pk=order.pk)

        # Subscribed before the first read, so a change between the two is not missed.
        with watch(order.pk) as changes:
            order = changes.reread_until(read, lambda current: current.is_finished, deadline, read())
    return order, True


def wait_for_news(order_id, read: Callable[[], tuple], seen: list[str], wait: int) -> tuple | None:
    """Return `(order, data, waited)` once the order differs from what the client saw, or after `wait` s.

    `read()` returns the order and its representation. What the client saw is the ETags
    it sent (`seen`), else the order as it was when the request arrived. A finished order
    answers at once. None when every slot of this process is held: answer without waiting.
    """
    with slots.take() as granted:
        if not granted:
            return None
        deadline = time.monotonic() + wait
        # Subscribe before the first read, so a change between the two is not missed.
        with watch(order_id) as changes:
            order, data = read()
            if order.is_finished:
                return order, data, False
            seen = [tag for tag in seen if tag != "*"] or [order_etag(data)]

            def changed(current: tuple) -> bool:
                return current[0].is_finished or not etag_matches(seen, order_etag(current[1]))

            order, data = changes.reread_until(read, changed, deadline, (order, data))
    return order, data, True
