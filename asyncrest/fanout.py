"""The RQ job path of parts enqueued by asyncrest 0.1, kept so that they run until they drain.

Jobs now name `asyncrest.worker.fanout.run_part`; this module goes in 0.3.
"""
from .worker.fanout import run_part  # noqa: F401
