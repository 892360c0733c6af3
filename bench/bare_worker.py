"""RQ's default forking worker for bench/orders.py, with Django and the job module loaded once.

Run by the bench: python bench/bare_worker.py REDIS_URL QUEUE (burst: exits when the queue is empty).
"""
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "demosite.settings")

import django  # noqa: E402

django.setup()

from redis import Redis  # noqa: E402
from rq import Queue, Worker  # noqa: E402

import bench.bare_jobs  # noqa: E402,F401  (imported before forking, as a preloading deployment would)

if __name__ == "__main__":
    connection = Redis.from_url(sys.argv[1])
    Worker([Queue(sys.argv[2], connection=connection)], connection=connection).work(burst=True)
