"""asyncrest: long-running jobs as REST resources that clients order and poll."""
from importlib import import_module

__all__ = [
    "register",
    "fail_on_error",
    "ProgressItems",
    "fan_out",
    "JobError",
    "OrderCancelled",
    "get_resource",
]

# Public names resolve lazily so that `import asyncrest` works before Django's app
# registry is ready (settings, jobs modules, the Python client).
_LOCATIONS = {
    "register": "asyncrest.registry",
    "get_resource": "asyncrest.registry",
    "fail_on_error": "asyncrest.errors",
    "JobError": "asyncrest.errors",
    "OrderCancelled": "asyncrest.errors",
    "ProgressItems": "asyncrest.progress",
    "fan_out": "asyncrest.fanout",
}


def __getattr__(name):
    if name in _LOCATIONS:
        return getattr(import_module(_LOCATIONS[name]), name)
    raise AttributeError(f"module 'asyncrest' has no attribute {name!r}")
