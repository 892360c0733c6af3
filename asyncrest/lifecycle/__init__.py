"""The one writer of order and part status: every move is a conditional UPDATE, announced after commit.

A status never goes backwards, and progress never goes down. The execution that runs
an order holds its `lease`, a token set when it claims the order; writes from a job
carry the lease, so an execution that lost its order (its worker was presumed dead and
the order retried elsewhere) changes nothing any more. `lease=None` means any holder
(the reconciler, the API, the admin).

Each change of what the API shows sends `asyncrest.signals.order_changed` once
committed, and each finish `order_finished`; nothing else is called from here.
"""
from .batches import claim_batch, complete_batch, heartbeat_batch
from .log import log_transition
from .orders import (
    add_usage, cancel, cancel_waiting, claim, complete, fail, heartbeat, place, place_retry, release, report_message,
    report_progress, request_cancel, why_not_retryable,
)
from .parts import (
    FANOUT_LEASE, cancel_parts, claim_part, fail_part_tolerated, finish_part, hand_to_parts, heartbeat_part,
    release_part, report_part_failures, report_part_progress, take_from_parts,
)

__all__ = [
    "FANOUT_LEASE", "add_usage", "cancel", "cancel_parts", "cancel_waiting", "claim", "claim_batch", "claim_part",
    "complete", "complete_batch", "heartbeat_batch",
    "fail", "fail_part_tolerated", "finish_part", "hand_to_parts", "heartbeat", "heartbeat_part", "log_transition", "place", "place_retry", "release",
    "release_part", "report_message", "report_part_failures", "report_part_progress", "report_progress", "request_cancel", "take_from_parts", "why_not_retryable",
]
