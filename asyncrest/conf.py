"""asyncrest's settings, read from `settings.ASYNCREST` at call time (never frozen at import)."""
from __future__ import annotations

from typing import Any

from django.conf import settings

DEFAULTS: dict[str, Any] = {
    # The RQ queue (a key of RQ_QUEUES) that orders go to unless their resource names another.
    "QUEUE": "default",
    # The RQ worker class that `runstack` starts.
    "WORKER_CLASS": "asyncrest.worker.Worker",
    # Orders per page of `GET /async/orders/` (`?page_size=` up to MAX_PAGE_SIZE).
    "PAGE_SIZE": 50,
    "MAX_PAGE_SIZE": 500,
    # Seconds a client is told to wait between polls.
    "RETRY_AFTER": 1,
    # At most one progress write per this many seconds per order.
    "PROGRESS_INTERVAL": 0.5,
    # Largest request body accepted by the order endpoint, in bytes (larger: 413).
    "MAX_BODY_SIZE": 10 * 1024 * 1024,
    # ...and of a file upload (multipart, or a raw body of one of UPLOAD_MEDIA_TYPES).
    "MAX_UPLOAD_SIZE": 50 * 1024 * 1024,
    "UPLOAD_MEDIA_TYPES": ("text/csv",),
    # Default job timeout in seconds for resources registered without one.
    "DEFAULT_TIMEOUT": 600,
    # Attempts per order before a lost worker fails it with "worker_lost" (resources may override).
    "MAX_ATTEMPTS": 3,
    # A running job records a heartbeat this often (seconds)...
    "HEARTBEAT_INTERVAL": 10,
    # ...and its worker counts as lost when none came for this long.
    "LOST_AFTER": 30,
    # The reconciler runs this often (seconds), in workers and in runstack.
    "RECONCILE_INTERVAL": 15,
    # A queued order without a job in Redis for this long is enqueued again.
    "QUEUED_GRACE": 10,
    # A drain of coalesced orders takes new batches for this long, then hands over to a fresh drain job.
    "DRAIN_SECONDS": 10,
    # The pause of a drain after a batch that was not full (s): a steady trickle of orders
    # then runs in batches of several, in one job, instead of one small job after another.
    "DRAIN_LINGER": 0.02,
    # False: every order runs alone, even of a resource registered with `coalesce=N`.
    "COALESCE": True,
    # Seconds of backoff before retry n (doubled per attempt, capped at 5 minutes).
    "RETRY_BACKOFF": 5,
    # A running order past its timeout by this much is failed with "timeout" by the reconciler.
    "TIMEOUT_GRACE": 30,
    # Orders one user may place per period ("120/minute", "10/second", ...; None: no limit).
    "ORDER_RATE": "120/minute",
    # Webhooks: hosts exempt from the public-address rule, attempts, and the first retry's
    # delay (doubling). Each user signs with a secret of their own (POST /async/webhooks/secret/).
    "WEBHOOK_ALLOWED_HOSTS": (),
    # How long a rotated signing secret keeps signing beside its successor (seconds).
    "WEBHOOK_ROTATION_OVERLAP": 24 * 60 * 60,
    # The whole of one attempt, connect to answer, in seconds: a receiver that trickles its
    # answer holds a worker for this long at most.
    "WEBHOOK_TIMEOUT": 5,
    # The RQ queue of deliveries (a key of RQ_QUEUES); None: the orders' queue.
    "WEBHOOK_QUEUE": None,
    "WEBHOOK_MAX_ATTEMPTS": 8,
    "WEBHOOK_BACKOFF": 10,
    # Seconds a finished order is kept before the purge deletes it (resources may override;
    # None: kept forever), and how long its tombstone then answers 410 Gone instead of 404.
    "RETENTION": 7 * 24 * 60 * 60,
    "TOMBSTONE_RETENTION": 30 * 24 * 60 * 60,
    # Orders deleted per batch (one short transaction each), and batches per reconciler pass.
    "PURGE_BATCH": 500,
    "PURGE_BATCHES_PER_PASS": 20,
    # How long an Idempotency-Key returns the same order.
    "IDEMPOTENCY_TTL": 24 * 60 * 60,
    # The longest `Prefer: wait=N` a status request is held for (seconds).
    "LONG_POLL_MAX_WAIT": 30,
    # Long polls one server process holds at once; more are answered at once (each holds a thread).
    "LONG_POLL_SLOTS": 2,
    # How long asyncrest.auth.CachedTokenAuthentication trusts a token it looked up (seconds; 0: never).
    "TOKEN_CACHE_SECONDS": 5,
}


def get(name: str) -> Any:
    """Return the ASYNCREST setting `name`, falling back to its default."""
    overrides = getattr(settings, "ASYNCREST", None) or {}
    if name in overrides:
        return overrides[name]
    return DEFAULTS[name]
