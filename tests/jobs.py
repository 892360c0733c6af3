"""Resources registered only in the test suite, importable by the test workers."""
import time

from django.conf import settings
from rest_framework import serializers

from asyncrest import JobError, ProgressItems, Retry, RetryLater, fail_on_error, fan_out, fan_out_failed, register


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


class FanSerializer(serializers.Serializer):
    parts = serializers.IntegerField(min_value=0, max_value=100, default=4)
    size = serializers.IntegerField(min_value=1, max_value=1000, default=10)
    delay = serializers.FloatField(min_value=0, max_value=5, default=0.02)
    fail_part = serializers.IntegerField(required=False, min_value=0)


@register("tests-fanout", serializer=FanSerializer, timeout=60)
def fanned(order):
    """Split the order into `parts` parts of `size` items each."""
    data = order.input
    inputs = [{"size": data["size"], "delay": data["delay"], "fail": i == data.get("fail_part")}
              for i in range(data["parts"])]
    return fan_out(order, inputs, part=fanned_part, then=fanned_done, totals=[data["size"]] * data["parts"],
                   message="Working in parts")


def fanned_part(order, part):
    """Sleep `delay` per item, reporting progress; the part marked `fail` raises half-way."""
    with ProgressItems(part, range(part.input["size"]), message=f"Part {part.index}") as items:
        for index in items:
            time.sleep(part.input["delay"])
            if part.input["fail"] and index == part.input["size"] // 2:
                raise JobError("the part broke", code="part_broke")


def fanned_done(order):
    return f"/tests/fanned/{order.pk}/"


@register("tests-redis-gone", timeout=60, max_attempts=2)
def redis_gone(order):
    """Meet a lost Redis connection inside fail_on_error, as a job that uses Redis would."""
    from redis.exceptions import ConnectionError

    with fail_on_error(order, "The report could not be built", code="report_failed"):
        raise ConnectionError("Error 111 connecting to 127.0.0.1:6379. Connection refused.")


class CoalescedSerializer(serializers.Serializer):
    value = serializers.IntegerField(default=1)
    fail = serializers.BooleanField(default=False)
    poison = serializers.BooleanField(default=False)
    alone = serializers.BooleanField(default=False)


def small(order_input) -> bool:
    return not order_input.get("alone")


def coalesced_one(order):
    """One order of a batch, run alone: fails if asked to (as its `many` does)."""
    if order.input["fail"] or order.input["poison"]:
        raise JobError(f"value {order.input['value']} was asked to fail", code="asked_to_fail")
    order.add_usage({"requests": 1})
    return f"/tests/results/{order.input['value']}/"


def coalesced_many(orders):
    """A whole batch at once; a poisoned order makes the whole call raise (the engine then runs them alone)."""
    if any(order.input["poison"] for order in orders):
        raise RuntimeError("one poisoned input breaks the whole batch")
    outcomes = []
    for order in orders:
        order.add_usage({"requests": 1, "batch": len(orders)})
        order.report_progress(1, 1, f"batch of {len(orders)}")
        if order.input["fail"]:
            outcomes.append(JobError(f"value {order.input['value']} was asked to fail", code="asked_to_fail"))
        else:
            outcomes.append(f"/tests/results/{order.input['value']}/")
    return outcomes


register("tests-coalesced", serializer=CoalescedSerializer, timeout=60, coalesce=10, many=coalesced_many,
         coalesce_if=small)(coalesced_one)


def private_one(order):
    return coalesced_one(order)


register("tests-coalesced-private", serializer=CoalescedSerializer, timeout=60, coalesce=50, many=coalesced_many,
         queue=settings.PRIVATE_QUEUE)(private_one)


def alone_one(order):
    return coalesced_one(order)


register("tests-coalesced-alone", serializer=CoalescedSerializer, timeout=60, coalesce=10)(alone_one)


class Unavailable(JobError):
    """What a service the job calls answers when it is down for a moment."""

    code = "upstream_unavailable"


class FlakySerializer(serializers.Serializer):
    failures = serializers.IntegerField(min_value=0, max_value=100, default=2)
    # tests-flaky: fail with an exception whose text is internal (not a JobError).
    plain = serializers.BooleanField(default=False)
    # tests-retry-later: the wait the job asks for.
    after = serializers.FloatField(min_value=0, max_value=600, default=1)


def note_attempt(key: str) -> int:
    """Record in Redis when an attempt started (the tests read the gaps); return how many have."""
    from asyncrest.broker.queues import get_connection

    return get_connection().rpush(f"tests:attempts:{key}", repr(time.time()))


@register("tests-flaky", serializer=FlakySerializer, timeout=60,
          retry=Retry(on=(Unavailable, TimeoutError), max_attempts=4, backoff=1.0, max_delay=2.0))
def flaky(order):
    """Fail the first `failures` attempts as a service that is briefly down would, then succeed."""
    note_attempt(str(order.id))
    if order.attempts <= order.input["failures"]:
        if order.input["plain"]:
            raise TimeoutError("internal-detail: read from 10.0.0.7:5432 timed out")
        raise Unavailable("the upstream service answered 503")
    return f"/tests/results/{order.pk}/"


@register("tests-retry-later", serializer=FlakySerializer, timeout=60, max_attempts=3)
def retry_later(order):
    """Ask for another attempt `after` seconds on, the first `failures` times."""
    note_attempt(str(order.id))
    if order.attempts <= order.input["failures"]:
        raise RetryLater("The upstream service is busy", after=order.input["after"], code="upstream_busy")
    return f"/tests/results/{order.pk}/"


def coalesced_flaky(order):
    """A coalesced order whose first attempt meets a busy upstream."""
    if order.attempts <= order.input["value"]:
        raise Unavailable("the upstream service answered 503")
    return f"/tests/results/{order.pk}/"


register("tests-coalesced-flaky", serializer=CoalescedSerializer, timeout=60, coalesce=10,
         retry=Retry(on=(Unavailable,), max_attempts=3, backoff=0.5, max_delay=1.0))(coalesced_flaky)


@register("tests-fanout-flaky", serializer=FanSerializer, timeout=60,
          retry=Retry(on=(Unavailable,), max_attempts=3, backoff=0.5, max_delay=1.0))
def fanned_flaky(order):
    """Fan out into `parts` parts; the part `fail_part` meets a busy upstream on its first attempt."""
    data = order.input
    inputs = [{"size": data["size"], "flaky": i == data.get("fail_part")} for i in range(data["parts"])]
    return fan_out(order, inputs, part=flaky_part, then=fanned_done, totals=[data["size"]] * data["parts"])


def flaky_part(order, part):
    with ProgressItems(part, range(part.input["size"]), message=f"Part {part.index}") as items:
        for index in items:
            if part.input["flaky"] and index == part.input["size"] // 2 and note_attempt(f"{order.id}-{part.index}") == 1:
                raise Unavailable("the upstream service answered 503")


class TolerantFanSerializer(FanSerializer):
    fail_parts = serializers.ListField(child=serializers.IntegerField(min_value=0), default=list)
    # Items each part reports failed (its first ones), as a job does for bad rows.
    bad_items = serializers.IntegerField(min_value=0, default=0)


@register("tests-fanout-tolerant", serializer=TolerantFanSerializer, timeout=60, tolerate=0.25)
def fanned_tolerant(order):
    """Fan out; the parts in `fail_parts` break half-way (but not in a retry, which redoes just those)."""
    if order.retry_of:
        return fan_out_failed(order)
    data = order.input
    inputs = [{"size": data["size"], "delay": data["delay"], "fail": i in data["fail_parts"], "bad": data["bad_items"]}
              for i in range(data["parts"])]
    return fan_out(order, inputs, part=tolerant_part, then=fanned_done, totals=[data["size"]] * data["parts"])


def tolerant_part(order, part):
    with ProgressItems(part, range(part.input["size"]), message=f"Part {part.index}") as items:
        for index in items:
            time.sleep(part.input["delay"])
            if part.input["fail"] and not order.retry_of and index == part.input["size"] // 2:
                raise JobError(f"part {part.index} broke", code="part_broke")
            if index < part.input["bad"]:
                part.report_failures(index + 1)


@register("tests-short-lived", timeout=60, retention=60)
def short_lived(order):
    """An order kept a minute once finished."""
    return f"/tests/results/{order.pk}/"
