"""System checks for asyncrest's configuration."""
from django.conf import settings
from django.core.checks import Error, register

from . import conf


@register()
def check_queues(app_configs, **kwargs):
    """Every queue asyncrest sends orders to must be configured in RQ_QUEUES."""
    from .registry import get_resources

    queues = getattr(settings, "RQ_QUEUES", None) or {}
    wanted = {conf.get("QUEUE")} | {r.queue for r in get_resources().values() if r.queue}
    return [
        Error(
            f"asyncrest sends orders to the RQ queue {name!r}, which RQ_QUEUES does not define.",
            hint="Add it to RQ_QUEUES or change ASYNCREST['QUEUE'] / the resource's queue=.",
            id="asyncrest.E001",
        )
        for name in sorted(wanted)
        if name not in queues
    ]


@register()
def check_long_polls(app_configs, **kwargs):
    """The long-poll settings must be whole numbers of seconds and slots, 0 or more."""
    return [
        Error(
            f"ASYNCREST[{name!r}] must be a whole number, 0 or more; it is {conf.get(name)!r}.",
            hint="LONG_POLL_MAX_WAIT is in seconds (30 by default); LONG_POLL_SLOTS counts requests (2).",
            id="asyncrest.E002",
        )
        for name in ("LONG_POLL_MAX_WAIT", "LONG_POLL_SLOTS")
        if not isinstance(conf.get(name), int) or isinstance(conf.get(name), bool) or conf.get(name) < 0
    ]
