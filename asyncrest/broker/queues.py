"""The RQ queues orders are delivered through (configured by django-rq's RQ_QUEUES)."""
from __future__ import annotations

import threading

from django.conf import settings
from django_rq.connection_utils import get_redis_connection
from redis import Redis
from rq import Queue

from .. import conf

_connections: dict[str, Redis] = {}
_lock = threading.Lock()


def get_connection(name: str | None = None) -> Redis:
    """Return a shared Redis client for queue `name`, built from RQ_QUEUES on first use."""
    config = settings.RQ_QUEUES[name or conf.get("QUEUE")]
    # Keyed by the whole config so a changed setting (tests, reconfiguration) gets a new client;
    # one client per config keeps one connection pool instead of a new one per request.
    key = repr(sorted(config.items()))
    with _lock:
        if key not in _connections:
            if "URL" in config:
                # Bounded timeouts: with Redis unreachable, placing an order must still answer
                # quickly (the order stays queued), not hang on a TCP connect.
                _connections[key] = Redis.from_url(
                    config["URL"], db=config.get("DB"), socket_connect_timeout=2, socket_timeout=5,
                    health_check_interval=30,
                )
            else:
                _connections[key] = get_redis_connection(config)
        return _connections[key]


def get_queue(name: str | None = None) -> Queue:
    """Return the RQ queue `name`, or the ASYNCREST default queue.

    A plain `rq.Queue`: the order view already enqueues in `transaction.on_commit`, so
    django-rq's own commit deferral would only postpone the job a second time.
    """
    name = name or conf.get("QUEUE")
    config = settings.RQ_QUEUES[name]
    return Queue(name, connection=get_connection(name), default_timeout=config.get("DEFAULT_TIMEOUT"))
