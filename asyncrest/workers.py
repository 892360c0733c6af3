"""The RQ worker class that runs orders (started by `runstack` and `manage.py rqworker`)."""
from __future__ import annotations

from rq.worker import Worker as RQWorker


class Worker(RQWorker):
    """A forking RQ worker: each job runs in a work horse, so a crashing job cannot take
    the worker down, and each job opens its own database connections."""
