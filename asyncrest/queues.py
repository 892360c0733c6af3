"""The RQ queues orders are delivered through (configured by django-rq's RQ_QUEUES)."""
from __future__ import annotations

import django_rq
from rq import Queue

from . import conf


def get_queue(name: str | None = None) -> Queue:
    """Return the RQ queue `name`, or the ASYNCREST default queue."""
    return django_rq.get_queue(name or conf.get("QUEUE"))
