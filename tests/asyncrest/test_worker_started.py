"""`worker_started`: sent once by each worker process as it starts, before its first job."""
import gc

import pytest
from rq import Queue

from asyncrest import worker_started
from asyncrest.worker import ForkingWorker, Worker


@pytest.mark.django_db
@pytest.mark.parametrize("worker_class", [Worker, ForkingWorker])
def test_a_starting_worker_sends_worker_started_once_whatever_a_receiver_raises(redis_client, worker_class):
    received = []

    def receiver(sender, worker, **kwargs):
        received.append((sender, worker))

    def failing(sender, **kwargs):
        raise RuntimeError("a receiver that fails")

    worker_started.connect(failing)
    worker_started.connect(receiver)
    try:
        worker = worker_class([Queue("worker-started", connection=redis_client)], connection=redis_client)
        assert worker.work(burst=True) is False  # started, found no job, stopped
        # What the worker loaded by then is out of the garbage collector's way for good.
        assert gc.get_freeze_count() > 0
    finally:
        gc.unfreeze()
        worker_started.disconnect(failing)
        worker_started.disconnect(receiver)
    assert received == [(worker_class, worker)]
