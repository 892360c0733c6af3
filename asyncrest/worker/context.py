"""What a job receives: the order (or part) it runs, read-only, with the writes a job may make.

A job never holds the ORM row, so nothing it does can save over the order's status or
step around the lease that fences this execution's writes: its progress, usage and
failure go through `asyncrest.lifecycle`, carrying the lease.
"""
from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from types import MappingProxyType
from typing import Any

from .. import lifecycle


def _frozen(data: Mapping) -> Mapping[str, Any]:
    return MappingProxyType(dict(data))


@dataclass(frozen=True, slots=True, kw_only=True)
class RunningOrder:
    """The order a job runs: `id`, `resource`, `input`, `owner_id`, `created_at`, `started_at`, `attempts`."""

    id: uuid.UUID
    resource: str
    input: Mapping[str, Any]
    owner_id: Any
    created_at: datetime
    started_at: datetime | None
    attempts: int
    lease: str
    #: The finished order whose failed parts or items this one redoes (`POST .../retry/`), or None.
    retry_of: uuid.UUID | None = None
    #: In a coalesced batch, what the job records (progress, message, usage) is kept here
    #: and written with the batch's completion: one statement for the batch, not one per report.
    reports: dict | None = None

    @classmethod
    def from_row(cls, order, lease: str) -> RunningOrder:
        return cls(
            id=order.pk, resource=order.resource, input=_frozen(order.input), owner_id=order.owner_id,
            created_at=order.created_at, started_at=order.started_at, attempts=order.attempts, lease=lease,
            retry_of=order.retry_of_id,
        )

    @classmethod
    def from_claimed(cls, row: dict) -> RunningOrder:
        """The order of a coalesced batch, from the row `lifecycle.claim_batch` returned."""
        return cls(
            id=row["id"], resource=row["resource"], input=_frozen(row["input"]), owner_id=row["owner_id"],
            created_at=row["created_at"], started_at=row["started_at"], attempts=row["attempts"], lease=row["lease"],
            reports={"usage": dict(row["usage"] or {})},
        )

    @property
    def pk(self) -> uuid.UUID:
        return self.id

    @property
    def owner(self):
        """The user who placed the order (read from the database on each access)."""
        from django.contrib.auth import get_user_model

        return get_user_model()._default_manager.get(pk=self.owner_id)

    def report_progress(self, processed: int, total: int | None, message: str | None = None) -> bool:
        """Record progress as this execution; False if the order must stop (cancelled, or taken over)."""
        if self.reports is not None:
            self.reports.update(processed=processed, total=total)
            if message is not None:
                self.reports["message"] = message[:255]
            return True
        return lifecycle.report_progress(self.id, processed, total, message, lease=self.lease)

    def report_message(self, message: str) -> bool:
        """Record the order's message alone, leaving its counts as they are; False if it must stop."""
        if self.reports is not None:
            self.reports["message"] = message[:255]
            return True
        return lifecycle.report_message(self.id, message, lease=self.lease)

    def add_usage(self, counts: Mapping[str, int]) -> None:
        """Add what the job spent, e.g. `{"requests": 2, "prompt_tokens": 900}`, to the order's usage."""
        if self.reports is not None:
            usage = self.reports["usage"]
            for name, value in counts.items():
                if value:
                    usage[name] = usage.get(name, 0) + value
            return
        lifecycle.add_usage(self.id, {name: value for name, value in counts.items() if value})

    def failed_parts(self) -> list:
        """The parts of this fanned-out order that failed (for its `then` step, where failures are
        tolerated): each with `index`, `input`, `total`, `processed`, `failed`, `error_code`, `error_message`."""
        from ..models import Part, Status

        return list(Part.objects.filter(order_id=self.id, status=Status.FAILED).order_by("index").defer("error_detail"))

    def __str__(self) -> str:
        return f"{self.resource} order {self.id}"


@dataclass(frozen=True, slots=True, kw_only=True)
class RunningPart:
    """One part of a fanned-out order, as its part function receives it: `index`, `input`, `total`."""

    id: int
    order_id: uuid.UUID
    index: int
    input: Mapping[str, Any]
    total: int | None
    lease: str

    @classmethod
    def from_row(cls, part, lease: str) -> RunningPart:
        return cls(id=part.pk, order_id=part.order_id, index=part.index, input=_frozen(part.input),
                   total=part.total, lease=lease)

    @property
    def pk(self) -> int:
        return self.id

    def report_progress(self, processed: int, total: int | None, message: str | None = None) -> bool:
        """Record the part's progress and add what is new to the order's; False if it must stop."""
        return lifecycle.report_part_progress(self.id, self.lease, processed, total, message)

    def report_message(self, message: str) -> bool:
        """Record a message on the order, leaving the counts as they are; False if it must stop."""
        return lifecycle.report_part_progress(self.id, self.lease, 0, self.total, message)

    def report_failures(self, failed: int, *, code: str = "", message: str = "") -> bool:
        """Record that `failed` of the part's items have failed so far (a count, not an increment: a
        retried part reports again from 0 and adds only what goes past its furthest count), and
        why (`code`, and a `message` fit for the client), kept for the part's first failure.

        The items still count as processed; they go into the order's `counts.failed`. False if
        the part must stop: its order failed (past what its resource tolerates), or was cancelled.
        """
        from .tolerance import fail_if_over_tolerance

        if not lifecycle.report_part_failures(self.id, self.lease, failed, code, message):
            return False
        return not fail_if_over_tolerance(self.order_id)

    def __str__(self) -> str:
        return f"part {self.index} of order {self.order_id}"
