"""asyncrest: long-running jobs as REST resources that clients order and poll."""
from importlib import import_module

__version__ = "0.2.0"

__all__ = [
    "register",
    "get_resource",
    "fail_on_error",
    "ProgressItems",
    "fan_out",
    "fan_out_failed",
    "JobError",
    "OrderCancelled",
    "Retry",
    "RetryLater",
    "RunningOrder",
    "RunningPart",
    "order_changed",
    "order_finished",
    "worker_started",
]

# Public names resolve lazily so that `import asyncrest` works before Django's app
# registry is ready (settings, jobs modules, the Django-free client).
_LOCATIONS = {
    "register": "asyncrest.registry",
    "get_resource": "asyncrest.registry",
    "fail_on_error": "asyncrest.worker.errors",
    "JobError": "asyncrest.worker.errors",
    "OrderCancelled": "asyncrest.worker.errors",
    "Retry": "asyncrest.retries",
    "RetryLater": "asyncrest.worker.errors",
    "ProgressItems": "asyncrest.worker.progress",
    "fan_out": "asyncrest.worker.fanout",
    "fan_out_failed": "asyncrest.worker.fanout",
    "RunningOrder": "asyncrest.worker.context",
    "RunningPart": "asyncrest.worker.context",
    "order_changed": "asyncrest.signals",
    "order_finished": "asyncrest.signals",
    "worker_started": "asyncrest.signals",
}


def __getattr__(name):
    if name in _LOCATIONS:
        return getattr(import_module(_LOCATIONS[name]), name)
    raise AttributeError(f"module 'asyncrest' has no attribute {name!r}")


def __dir__():
    return sorted([*globals(), *__all__])
