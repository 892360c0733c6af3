"""Throttling of order placement, counted in Redis so every web process shares one count."""
from __future__ import annotations

import logging
import time

from redis.exceptions import RedisError
from rest_framework.throttling import BaseThrottle

from .. import conf

logger = logging.getLogger("asyncrest.throttling")

PERIODS = {"s": 1, "sec": 1, "second": 1, "m": 60, "min": 60, "minute": 60, "h": 3600, "hour": 3600,
           "d": 86400, "day": 86400}


def parse_rate(rate: str | None) -> tuple[int, int] | None:
    """Turn "120/minute" into (120, 60); None means no limit."""
    if not rate:
        return None
    count, _, period = rate.partition("/")
    return int(count), PERIODS[period.strip().lower()]


class OrderRateThrottle(BaseThrottle):
    """Allow each user `ORDER_RATE` orders per period (e.g. "120/minute"), in fixed windows.

    Denied requests get 429 with `Retry-After` (the seconds left in the window). With
    Redis unreachable, orders are allowed: they are accepted and wait for delivery anyway,
    and refusing every client over a cache outage would be worse.
    """

    def allow_request(self, request, view) -> bool:
        rate = parse_rate(conf.get("ORDER_RATE"))
        if rate is None or not request.user or not request.user.is_authenticated:
            return True
        limit, period = rate
        now = time.time()
        window = int(now // period)
        self.wait_seconds = period - (now - window * period)
        key = f"asyncrest:throttle:orders:{request.user.pk}:{period}:{window}"
        from ..broker.queues import get_connection

        try:
            with get_connection().pipeline() as pipe:
                pipe.incr(key)
                pipe.expire(key, period + 1)
                count, _ = pipe.execute()
        except RedisError as exc:
            logger.warning("order throttle skipped, Redis unreachable: %s", exc)
            return True
        return count <= limit

    def wait(self) -> float:
        return max(1.0, self.wait_seconds)
