"""What runs in the RQ worker: the runner, fan-out, progress, heartbeats, the reconciler, worker classes.

Start workers with `manage.py rqworker <queue> --worker-class asyncrest.worker.Worker --with-scheduler`
(RQ's scheduler delivers retries when they are due).
"""
from importlib import import_module

__all__ = ["ForkingWorker", "Worker"]


def __getattr__(name):
    # Lazily, so that importing a module of this package does not import RQ's worker machinery.
    if name in __all__:
        return getattr(import_module("asyncrest.worker.classes"), name)
    raise AttributeError(f"module 'asyncrest.worker' has no attribute {name!r}")
