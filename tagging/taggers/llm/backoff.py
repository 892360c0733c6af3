"""How long to wait before retrying a request: exponential backoff, jitter, `Retry-After`."""
from __future__ import annotations

import email.utils
import random
import time
from collections.abc import Mapping
from dataclasses import dataclass


@dataclass(frozen=True, slots=True, kw_only=True)
class Backoff:
    """Exponential backoff with jitter that never waits less than the server asked."""

    base: float = 0.5
    cap: float = 30.0

    def delay(self, retry: int, retry_after: float | None = None) -> float:
        """Return the seconds to wait before retry number `retry` (1 for the first)."""
        ceiling = min(self.cap, self.base * 2 ** (retry - 1))
        # Between half and all of the ceiling: requests that failed together (a 503 burst)
        # come back spread out instead of failing together again.
        delay = ceiling * (0.5 + random.random() / 2)
        if retry_after is not None:
            # Up to 10 % on top, for the same reason, when many got the same Retry-After.
            delay = max(delay, retry_after * (1 + random.random() / 10))
        return delay


def retry_after(headers: Mapping[str, str] | None) -> float | None:
    """Return the seconds a `retry-after-ms` or `Retry-After` header asks to wait, or None."""
    if not headers:
        return None
    for name, scale in (("retry-after-ms", 0.001), ("retry-after", 1.0)):
        value = headers.get(name)
        if value is None:
            continue
        try:
            seconds = float(value) * scale
        except ValueError:
            if name == "retry-after" and (date := email.utils.parsedate_tz(value)) is not None:
                return max(0.0, email.utils.mktime_tz(date) - time.time())
            continue
        if seconds == seconds and seconds >= 0:  # not NaN, not negative
            return seconds
    return None
