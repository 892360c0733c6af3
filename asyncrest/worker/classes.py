"""The RQ worker classes that run orders (started by `runstack` and `manage.py rqworker`).

`Worker`, the default, runs each job in the worker process itself: no fork per job, and
database connections kept between jobs (CONN_MAX_AGE). `ForkingWorker` runs each job in
a forked work horse, so a job that crashes the interpreter or leaks memory cannot take the
worker with it, at the cost of a fork and fresh connections per job. Choose it with
`ASYNCREST["WORKER_CLASS"] = "asyncrest.worker.ForkingWorker"` (or `--worker-class`).

Either way a worker that dies mid-job loses nothing: the job's heartbeat stops and the
reconciler hands the order to another worker.
"""
from __future__ import annotations

import gc
import logging
import os
import signal

from django.db import connections
from redis.exceptions import RedisError
from rq.worker import SimpleWorker
from rq.worker import Worker as RQWorker

from .. import conf

logger = logging.getLogger("asyncrest.workers")

#: Seconds a stopping worker waits for RQ's scheduler process before killing it.
SCHEDULER_STOP_WAIT = 3


class ReconcilingMixin:
    """Send `worker_started` once the worker has started, and run the reconciler as part of
    RQ's maintenance, which runs between jobs while idle.

    While idle, the worker wakes every RECONCILE_INTERVAL seconds for it (a pass at most
    once per interval across all workers, by a Redis lock).
    """

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.maintenance_interval = conf.get("RECONCILE_INTERVAL")

    def bootstrap(self, *args, **kwargs) -> None:
        super().bootstrap(*args, **kwargs)
        from ..signals import worker_started

        for receiver, result in worker_started.send_robust(sender=type(self), worker=self):
            if isinstance(result, Exception):
                logger.error("worker_started receiver %r failed", receiver, exc_info=result)
        # What is loaded by now lives as long as the worker: the garbage collector need not
        # walk it again in every job, and a forking worker's horses share its pages.
        gc.collect()
        gc.freeze()

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
            self.release_connections()

    def set_shutdown_requested_date(self) -> None:
        """Note a warm shutdown in Redis if Redis can be reached.

        The signal handler that calls this runs in the middle of the job (in the worker
        process itself): with Redis down, RQ's write would raise there, inside the job,
        and fail an order over an infrastructure fault.
        """
        try:
            super().set_shutdown_requested_date()
        except RedisError as exc:
            logger.warning("warm shutdown not recorded in Redis (%s); the current job goes on", exc)

    def stop_scheduler(self) -> None:
        """Stop RQ's scheduler process (`--with-scheduler`) as RQ does, but wait for it a moment only.

        With Redis gone (stopped with the worker, say) the scheduler spends its exit in
        connection retries; RQ would wait for it without end, holding the worker's shutdown.
        It is killed after SCHEDULER_STOP_WAIT seconds: what it schedules lives in Redis.
        """
        process = getattr(self.scheduler, "_process", None)
        if process is None or not process.pid:
            return
        try:
            os.kill(process.pid, signal.SIGTERM)
        except OSError:
            pass
        process.join(SCHEDULER_STOP_WAIT)
        if process.is_alive():
            logger.warning("RQ's scheduler (pid %s) did not stop in %s s; killed", process.pid, SCHEDULER_STOP_WAIT)
            process.kill()
            process.join(1)

    def release_connections(self) -> None:
        """Close the reconciler's database connections (a forking worker must hold none)."""
        connections.close_all()


class Worker(ReconcilingMixin, SimpleWorker):
    """Run jobs in the worker process: no fork per job, connections reused between jobs."""


class ForkingWorker(ReconcilingMixin, RQWorker):
    """Run each job in a forked work horse, isolated from the worker and from other jobs."""
