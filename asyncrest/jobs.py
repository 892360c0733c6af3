"""The RQ job path of orders enqueued by asyncrest 0.1, kept so that they run until they drain.

Jobs now name `asyncrest.worker.runner.run_order`; this module goes in 0.3.
"""
from .worker.runner import run_order  # noqa: F401
