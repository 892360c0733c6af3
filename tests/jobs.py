"""Resources registered only in the test suite, importable by the test workers."""
import time

from rest_framework import serializers

from asyncrest import JobError, ProgressItems, fail_on_error, register


class SleepSerializer(serializers.Serializer):
    items = serializers.IntegerField(min_value=1, max_value=1000, default=10)
    delay = serializers.FloatField(min_value=0, max_value=5, default=0.05)


@register("tests-sleep", serializer=SleepSerializer, timeout=60)
def sleep_items(order):
    """Sleep `delay` seconds per item, reporting progress."""
    with ProgressItems(order, range(order.input["items"]), message="Sleeping") as items:
        for _ in items:
            time.sleep(order.input["delay"])
    return f"/tests/results/{order.pk}/"


@register("tests-broken", timeout=60)
def broken(order):
    """Fail with an exception whose text must never reach the client."""
    with fail_on_error(order, "The report could not be built", code="report_failed"):
        raise RuntimeError("secret-internal-detail: password=hunter2")


@register("tests-job-error", timeout=60)
def job_error(order):
    """Fail with a JobError, whose message is meant for the client."""
    raise JobError("the input had no rows", code="empty_input")


@register("tests-nothing", timeout=60)
def returns_nothing(order):
    """Finish without naming a resource."""
    return None


@register("tests-fragile", serializer=SleepSerializer, timeout=60, max_attempts=1)
def fragile(order):
    """Sleep like tests-sleep, but with a single attempt: a lost worker fails the order."""
    return sleep_items(order)


@register("tests-overrun", serializer=SleepSerializer, timeout=2)
def overrun(order):
    """Sleep past the 2-second time limit."""
    return sleep_items(order)
