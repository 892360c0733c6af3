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
#: Seconds a stopping worker waits for the thread that reads its command channel.
UNSUBSCRIBE_WAIT = 1


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

    def unsubscribe(self) -> None:
        """Leave the worker's command channel (RQ's `unsubscribe`), waiting for its thread a moment only.

        RQ stops the pubsub thread without a time limit; with Redis gone, redis-py's thread
        can sit out its whole 60 s read before it notices, holding the worker's exit. The
        thread is a daemon: one still waiting after UNSUBSCRIBE_WAIT seconds ends with the process.
        """
        thread = getattr(self, "pubsub_thread", None)
        if not thread:
            return
        logger.info("Worker %s: unsubscribing from channel %s", self.name, self.pubsub_channel_name)
        try:
            self.pubsub.unsubscribe()
        except RedisError as exc:
            logger.warning("Worker %s: could not unsubscribe (%s)", self.name, exc)
        try:
            thread.stop(timeout=UNSUBSCRIBE_WAIT)
        except TypeError:  # redis-py before 8.2: stop() takes no timeout and does not wait
            thread.stop()
        thread.join(UNSUBSCRIBE_WAIT)
        if thread.is_alive():
            logger.warning("Worker %s: pubsub thread still reading after %s s; left to end with the process",
                           self.name, UNSUBSCRIBE_WAIT)
            return
        try:
            self.pubsub.close()
        except RedisError:
            pass

    def release_connections(self) -> None:
        """Close the reconciler's database connections (a forking worker must hold none)."""
        connections.close_all()


class Worker(ReconcilingMixin, SimpleWorker):
    """Run jobs in the worker process: no fork per job, connections reused between jobs."""


class ForkingWorker(ReconcilingMixin, RQWorker):
    """Run each job in a forked work horse, isolated from the worker and from other jobs."""
