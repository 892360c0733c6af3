"""The reconciler: make Redis and the workers agree with the order rows again.

The database row is the truth about an order and Redis is only its delivery, so after
any fault (Redis down at POST time, Redis restarted without persistence, a worker or
work horse killed, a job hung past its timeout) one pass of `reconcile()` puts every
pending order back on a path to a finished status:

- a `queued` order, or a running one handed back for a retry, without a live RQ job
  is enqueued (again);
- a `running` order whose heartbeat stopped is handed back for another attempt after a
  backoff, or failed with `worker_lost` once its attempts are used up;
- a `running` order past its resource's timeout is failed with `timeout`;
- a finished order past its resource's retention is purged (see `retention`).
"""
from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass, fields
from datetime import timedelta

from django.db.models import Q
from django.utils import timezone
from redis.exceptions import RedisError
from rq.command import send_stop_job_command
from rq.job import Job, JobStatus

from .. import conf, lifecycle
from ..broker.dispatch import enqueue_order, enqueue_part
from ..broker.queues import get_connection
from ..lifecycle import log_transition
from ..models import FANOUT_LEASE, Order, Part, Status
from ..registry import get_resource, get_resources
from ..webhooks.delivery import deliver_due
from .fanout import finish_if_last, settle_cancel
from .retention import purge
from .tolerance import fail_if_over_tolerance

logger = logging.getLogger("asyncrest.reconciler")

# A job still waiting to run. A "started" job does not count: an order waiting for delivery
# has no execution (a crashed worker leaves its job "started" for good), and a duplicate
# delivery is harmless because only one execution can claim the order.
LIVE_JOB_STATUSES = {JobStatus.QUEUED, JobStatus.DEFERRED, JobStatus.SCHEDULED}
LOCK_KEY = "asyncrest:reconciler"
BATCH = 500


@dataclass(slots=True)
class Report:
    """What one reconciliation pass did."""

    enqueued: int = 0
    retried: int = 0
    lost: int = 0
    timed_out: int = 0
    cancelled: int = 0
    purged: int = 0

    def __str__(self) -> str:
        return ", ".join(f"{f.name}={getattr(self, f.name)}" for f in fields(self))

    @property
    def changed(self) -> bool:
        return any(getattr(self, f.name) for f in fields(self))


def reconcile() -> Report:
    """Run one reconciliation pass over all pending orders and return what it did."""
    report = Report()
    now = timezone.now()
    expire_timeouts(now, report)
    recover_lost(now, report)
    deliver_stranded(now, report)
    reconcile_parts(now, report)
    try:
        deliver_due()
    except RedisError:
        pass  # the deliveries stay due; the next pass tries again
    report.purged = purge(now=now, max_batches=conf.get("PURGE_BATCHES_PER_PASS")).orders
    if report.changed:
        logger.info("reconciled: %s", report)
    return report


def reconcile_if_due() -> Report | None:
    """Run `reconcile()` unless another process did within RECONCILE_INTERVAL (a Redis lock)."""
    interval = conf.get("RECONCILE_INTERVAL")
    try:
        if not get_connection().set(LOCK_KEY, uuid.uuid4().hex, nx=True, px=int(interval * 1000)):
            return None
    except RedisError:
        pass  # Redis down: time-outs and lost workers are still the database's to settle.
    return reconcile()


def expire_timeouts(now, report: Report) -> None:
    """Fail running orders that outlived their resource's timeout by TIMEOUT_GRACE."""
    grace = conf.get("TIMEOUT_GRACE")
    for resource in get_resources().values():
        limit = resource.get_timeout()
        overdue = Order.objects.filter(
            resource=resource.name, status=Status.RUNNING, started_at__lt=now - timedelta(seconds=limit + grace)
        ).exclude(lease__in=["", FANOUT_LEASE])  # a fanned-out order's limit applies to each part
        for order in overdue[:BATCH]:
            message = f"The job ran past its time limit of {limit} s and was stopped."
            if lifecycle.fail(order.pk, "timeout", message, lease=order.lease):
                report.timed_out += 1
                log_transition(order, "failed", level=logging.WARNING, detail="code=timeout")
                stop_job(order)


def recover_lost(now, report: Report) -> None:
    """Hand back or fail running orders whose execution stopped sending heartbeats."""
    stale = now - timedelta(seconds=conf.get("LOST_AFTER"))
    lost = Order.objects.filter(status=Status.RUNNING, heartbeat_at__lt=stale).exclude(lease__in=["", FANOUT_LEASE])
    for order in lost[:BATCH]:
        resource = get_resource(order.resource)
        max_attempts = resource.get_max_attempts() if resource else 1
        if order.cancel_requested_at:
            if lifecycle.cancel(order.pk, lease=order.lease):
                report.cancelled += 1
                log_transition(order, "cancelled", detail="worker=lost")
        elif order.attempts < max_attempts:
            delay = retry_delay(resource, order.attempts)
            message = (
                f"The worker running this order stopped responding; retrying "
                f"(attempt {order.attempts + 1} of {max_attempts})."
            )
            if lifecycle.release(order.pk, order.lease, message, now + timedelta(seconds=delay)):
                report.retried += 1
                logger.warning(
                    "order %s resource=%s worker lost on attempt %s; retry in %ss",
                    order.pk, order.resource, order.attempts, delay,
                )
        else:
            message = (
                f"The worker running this order stopped responding, {order.attempts} "
                f"time{'s' if order.attempts != 1 else ''}; no more attempts are made."
            )
            if lifecycle.fail(order.pk, "worker_lost", message, lease=order.lease):
                report.lost += 1
                log_transition(
                    order, "failed", level=logging.ERROR, detail=f"code=worker_lost attempts={order.attempts}"
                )


def deliver_stranded(now, report: Report) -> None:
    """Enqueue orders waiting for delivery whose job is not alive in Redis."""
    waiting = Order.objects.filter(
        Q(status=Status.QUEUED, created_at__lt=now - timedelta(seconds=conf.get("QUEUED_GRACE")))
        | Q(status=Status.RUNNING, lease="", available_at__lte=now)
    ).order_by("created_at")[:BATCH]
    waiting = list(waiting)
    if not waiting:
        return
    try:
        live = live_job_ids([order.job_id or str(order.pk) for order in waiting if not order.coalesced],
                            overdue=overdue_ids(waiting, now, lambda order: order.job_id or str(order.pk)))
    except RedisError as exc:
        logger.warning("reconciler cannot reach Redis, %s orders wait: %s", len(waiting), exc)
        return
    drained = set()
    for order in waiting:
        if order.cancel_requested_at and order.status == Status.RUNNING:
            if lifecycle.cancel(order.pk, lease=""):
                report.cancelled += 1
                log_transition(order, "cancelled")
            continue
        if order.coalesced:
            # Still waiting past the grace: its drain was lost, or is behind. One more per resource.
            if order.resource not in drained and enqueue_order(order, force=True):
                drained.add(order.resource)
                logger.info("resource %s: drain enqueued again for waiting orders", order.resource)
            report.enqueued += order.resource in drained
            continue
        if (order.job_id or str(order.pk)) in live:
            continue
        if enqueue_order(order):
            report.enqueued += 1
            logger.info("order %s resource=%s enqueued again (no live job)", order.pk, order.resource)


def reconcile_parts(now, report: Report) -> None:
    """Do for the parts of fanned-out orders what the passes above do for orders."""
    fanned = Order.objects.filter(status=Status.RUNNING, lease=FANOUT_LEASE)
    for order in fanned.filter(cancel_requested_at__isnull=False)[:BATCH]:
        settle_cancel(order.pk)
    running = Part.objects.filter(order__in=fanned, status=Status.RUNNING).exclude(lease="").select_related("order")
    stale = now - timedelta(seconds=conf.get("LOST_AFTER"))
    for part in running.filter(heartbeat_at__lt=stale)[:BATCH]:
        resource = get_resource(part.order.resource)
        if part.attempts < (resource.get_max_attempts() if resource else 1):
            delay = retry_delay(resource, part.attempts)
            if lifecycle.release_part(part.pk, part.lease, now + timedelta(seconds=delay)):
                report.retried += 1
                logger.warning("part %s of order %s: worker lost; retry in %ss", part.index, part.order_id, delay)
        else:
            fail_part(part, "worker_lost", f"The worker running part {part.index + 1} stopped responding; "
                      f"no more attempts are made.", report)
    grace = conf.get("TIMEOUT_GRACE")
    for part in running[:BATCH]:
        resource = get_resource(part.order.resource)
        limit = resource.get_timeout() if resource else conf.get("DEFAULT_TIMEOUT")
        if part.started_at < now - timedelta(seconds=limit + grace):
            fail_part(part, "timeout", f"Part {part.index + 1} ran past its time limit of {limit} s.", report)
    waiting = list(
        Part.objects.filter(order__in=fanned)
        .filter(
            Q(status=Status.QUEUED, created_at__lt=now - timedelta(seconds=conf.get("QUEUED_GRACE")))
            | Q(status=Status.RUNNING, lease="", available_at__lte=now)
        )
        .select_related("order")[:BATCH]
    )
    if waiting:
        try:
            live = live_job_ids([part.job_id for part in waiting],
                                overdue=overdue_ids(waiting, now, lambda part: part.job_id))
        except RedisError:
            return
        for part in waiting:
            if part.job_id not in live and enqueue_part(part):
                report.enqueued += 1
    # A crash between a last part's completion and the order's: finish it now.
    for order in fanned.exclude(parts__status__in=[Status.QUEUED, Status.RUNNING])[:BATCH]:
        finish_if_last(order.pk)


def fail_part(part, code: str, message: str, report: Report) -> None:
    """Fail `part` and, by the fan-out rule, its order (unless its resource tolerates the failure)."""
    resource = get_resource(part.order.resource)
    if resource is not None and resource.tolerates():
        if lifecycle.fail_part_tolerated(part.pk, part.lease, error_code=code, error_message=message):
            report.lost += code == "worker_lost"
            report.timed_out += code == "timeout"
            stop_job(part)
            if not fail_if_over_tolerance(part.order_id):
                finish_if_last(part.order_id)
        return
    if lifecycle.finish_part(part.pk, part.lease, Status.FAILED, error_code=code, error_message=message):
        if lifecycle.fail(part.order_id, code, message, lease=FANOUT_LEASE):
            report.lost += code == "worker_lost"
            report.timed_out += code == "timeout"
            log_transition(part.order, "failed", level=logging.ERROR, detail=f"code={code} part={part.index}")
        stop_job(part)


def retry_delay(resource, attempts: int) -> float:
    """Seconds before retrying after `attempts` lost executions, by the resource's retry policy."""
    from ..retries import default_retry

    return (resource.get_retry() if resource else default_retry()).delay(attempts)


def live_job_ids(job_ids: list[str], *, overdue: frozenset | set = frozenset()) -> set[str]:
    """Return which of `job_ids` exist in Redis in a status that will still run them.

    A job on RQ's schedule whose id is in `overdue` does not count: its time came long
    enough ago that no scheduler is moving it to its queue (no worker runs one, or the
    one that did is gone), so its attempt is delivered now instead.
    """
    connection = get_connection()
    live = set()
    for job in Job.fetch_many(job_ids, connection=connection):
        if job is None:
            continue
        status = job.get_status(refresh=False)
        if status == JobStatus.SCHEDULED and job.id in overdue:
            logger.warning("job %s was due %ss ago and is still scheduled: is a worker running with "
                           "--with-scheduler? The reconciler delivers it.", job.id, conf.get("QUEUED_GRACE"))
            continue
        if status in LIVE_JOB_STATUSES:
            live.add(job.id)
    return live


def overdue_ids(waiting, now, job_id) -> set[str]:
    """The job ids of `waiting` orders or parts whose next attempt was due more than QUEUED_GRACE ago."""
    late = now - timedelta(seconds=conf.get("QUEUED_GRACE"))
    return {job_id(item) for item in waiting if item.available_at is not None and item.available_at < late}


def stop_job(item) -> None:
    """Ask RQ to stop the job of an order or part if a worker still runs it (best effort)."""
    try:
        send_stop_job_command(get_connection(), getattr(item, "running_job_id", None) or item.job_id or str(item.pk))
    except Exception as exc:  # not running anywhere, or Redis down: it is settled anyway
        logger.debug("%s: no job to stop (%s)", item, exc)
