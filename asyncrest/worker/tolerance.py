"""Partial failure: how many of a fanned-out order's items may fail before the order does."""
from __future__ import annotations

import logging

from .. import lifecycle
from ..models import FANOUT_LEASE, Order, Part, Status
from ..registry import get_resource


def tolerates(order_id) -> bool:
    """Whether the order's resource lets it complete with some items failed (`register(..., tolerate=)`)."""
    resource = get_resource(Order.objects.filter(pk=order_id).values_list("resource", flat=True).first())
    return resource is not None and resource.tolerates()


def fail_if_over_tolerance(order_id) -> bool:
    """Fail a fanned-out order if more of its items failed than its resource tolerates; True if it did
    (or the order no longer runs). Its error has the code of its first failure (the lowest part's
    with one), else `too_many_failures`, and a message that says how many failed and what first."""
    row = Order.objects.filter(pk=order_id).values_list("resource", "failed", "total", "status").first()
    if row is None or row[3] != Status.RUNNING:
        return True
    resource_name, failed, total, _ = row
    resource = get_resource(resource_name)
    allowed = resource.allowed_failures(total) if resource else 0
    if failed <= allowed:
        return False
    first = (Part.objects.filter(order_id=order_id).exclude(error_code="").order_by("index")
             .values_list("error_code", "error_message").first())
    code = first[0] if first else "too_many_failures"
    message = (f"{failed:,} of {total or 0:,} items failed, more than the {allowed:,} tolerated"
               + (f". The first failure: {first[1]}" if first and first[1] else "."))
    if lifecycle.fail(order_id, code, message, lease=FANOUT_LEASE):
        order = Order.objects.only("id", "resource", "created_at", "started_at", "finished_at").get(pk=order_id)
        lifecycle.log_transition(order, "failed", level=logging.ERROR, detail=f"code={code} failed={failed}")
    return True
