"""System checks: what the host project must provide for asyncrest to work, each with a hint."""
from __future__ import annotations

from django.apps import apps
from django.conf import settings
from django.core.checks import Error, Warning, register
from django.utils.module_loading import import_string

from . import conf

#: Apps asyncrest needs beside it, and why.
REQUIRED_APPS = {
    "rest_framework": "the order endpoints are Django REST framework views",
    "django_rq": "orders run on RQ workers (`manage.py rqworker`), configured by django-rq's RQ_QUEUES",
    "django.contrib.auth": "every order belongs to the user who placed it",
    "django.contrib.contenttypes": "django.contrib.auth needs it",
}


@register()
def check_dependencies(app_configs, **kwargs):
    """The apps asyncrest depends on must be installed, and requests must be able to authenticate."""
    errors = [
        Error(
            f"'{name}' must be in INSTALLED_APPS to use asyncrest: {why}.",
            hint=f"Add '{name}' to INSTALLED_APPS (before 'asyncrest').",
            id="asyncrest.E003",
        )
        for name, why in REQUIRED_APPS.items()
        if not apps.is_installed(name)
    ]
    if apps.is_installed("rest_framework"):
        from rest_framework.settings import api_settings

        if not api_settings.DEFAULT_AUTHENTICATION_CLASSES:
            errors.append(Warning(
                "REST_FRAMEWORK['DEFAULT_AUTHENTICATION_CLASSES'] is empty: nobody can place or watch "
                "an order, every request to asyncrest's views is answered 401 or 403.",
                hint="List at least one, e.g. 'rest_framework.authentication.TokenAuthentication' "
                     "(with 'rest_framework.authtoken' installed) or SessionAuthentication.",
                id="asyncrest.W001",
            ))
    if "WEBHOOK_SECRET" in (getattr(settings, "ASYNCREST", None) or {}):
        errors.append(Warning(
            "ASYNCREST['WEBHOOK_SECRET'] is no longer used: one secret for every user let any of them sign "
            "webhooks that another's receiver would accept.",
            hint="Remove it. Each user makes their own secret with POST /async/webhooks/secret/.",
            id="asyncrest.W002",
        ))
    return errors


@register()
def check_queues(app_configs, **kwargs):
    """Every queue asyncrest sends orders to must be configured in RQ_QUEUES."""
    from .registry import get_resources

    queues = getattr(settings, "RQ_QUEUES", None) or {}
    wanted = {conf.get("QUEUE")} | {r.queue for r in get_resources().values() if r.queue}
    wanted |= {conf.get("WEBHOOK_QUEUE")} - {None}
    return [
        Error(
            f"asyncrest sends orders to the RQ queue {name!r}, which RQ_QUEUES does not define.",
            hint=(
                f"Add it, e.g. RQ_QUEUES = {{{name!r}: {{'URL': 'redis://localhost:6379/0'}}}}, or change "
                "ASYNCREST['QUEUE'] / the resource's queue=."
            ),
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


@register()
def check_retention(app_configs, **kwargs):
    """How long finished orders and their tombstones are kept: seconds above 0, or None (forever)."""
    errors = []
    for name in ("RETENTION", "TOMBSTONE_RETENTION"):
        value = conf.get(name)
        if value is not None and (isinstance(value, bool) or not isinstance(value, (int, float)) or value <= 0):
            errors.append(Error(
                f"ASYNCREST[{name!r}] must be a number of seconds above 0, or None to keep forever; it is {value!r}.",
                hint="RETENTION is 7 days by default (604800); TOMBSTONE_RETENTION, how long a purged order "
                     "answers 410 Gone, 30 days. From the environment: ASYNCREST_RETENTION=<seconds> or 'none'.",
                id="asyncrest.E006",
            ))
    for name in ("PURGE_BATCH", "PURGE_BATCHES_PER_PASS"):
        value = conf.get(name)
        if not isinstance(value, int) or isinstance(value, bool) or value < 1:
            errors.append(Error(
                f"ASYNCREST[{name!r}] must be a whole number, 1 or more; it is {value!r}.",
                hint="PURGE_BATCH is the orders deleted per short transaction (500); PURGE_BATCHES_PER_PASS, the "
                     "batches one reconciler pass deletes at most (20).",
                id="asyncrest.E007",
            ))
    return errors


@register()
def check_resources(app_configs, **kwargs):
    """Each resource's job must import by its dotted path (workers do), and its parsers must import."""
    from .registry import get_resources

    errors = []
    for resource in get_resources().values():
        try:
            found = import_string(resource.dotted_path)
        except ImportError as exc:
            found, reason = None, str(exc)
        else:
            reason = "it imports as another object"
        if found is not resource.func:
            errors.append(Error(
                f"The job of asyncrest resource {resource.name!r}, {resource.dotted_path}, cannot be imported "
                f"by that path ({reason}); workers could not run it.",
                hint="Register a module-level function of a module that workers can import.",
                id="asyncrest.E004",
            ))
        try:
            resource.get_parsers()
        except ImportError as exc:
            errors.append(Error(
                f"A parser of asyncrest resource {resource.name!r} cannot be imported: {exc}.",
                hint="Give parser classes, or dotted paths of importable ones, in register(..., parsers=...).",
                id="asyncrest.E005",
            ))
    return errors
