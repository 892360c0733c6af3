"""The RQ worker class that runs orders (started by `runstack` and `manage.py rqworker`)."""
from __future__ import annotations

import logging

from django.db import connections
from rq.worker import Worker as RQWorker

from . import conf

logger = logging.getLogger("asyncrest.workers")


class Worker(RQWorker):
    """A forking RQ worker that also runs the reconciler between jobs.

    Each job runs in a work horse, so a crashing job cannot take the worker down, and
    each job opens its own database connections. While idle, the worker wakes every
    RECONCILE_INTERVAL seconds for RQ's maintenance, which here includes a reconciler
    pass (at most one per interval across all workers, by a Redis lock).
    """

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.maintenance_interval = conf.get("RECONCILE_INTERVAL")

    @property
    def dequeue_timeout(self) -> int:
        # RQ only runs maintenance between waits for a job: wake up often enough for it.
        return max(1, min(super().dequeue_timeout, int(conf.get("RECONCILE_INTERVAL"))))

    def run_maintenance_tasks(self) -> None:
        super().run_maintenance_tasks()
        from .reconciler import reconcile_if_due

        try:
            reconcile_if_due()
        except Exception:  # the worker must keep serving jobs whatever the reconciler meets
            logger.exception("reconciler pass failed")
        finally:
            # No connection may be open when the next work horse forks: parent and child
            # would share one socket.
            connections.close_all()
