"""The demo site's settings, plus the peer app, its URLs and its queue's settings."""
import os

from demosite.settings import *  # noqa: F401,F403
from demosite.settings import INSTALLED_APPS, REDIS_URL, REST_FRAMEWORK, RQ_QUEUES

INSTALLED_APPS = [*INSTALLED_APPS, "peersite"]
ROOT_URLCONF = "peersite.urls"
WSGI_APPLICATION = "peersite.wsgi.application"

# Celery as its docs recommend for throughput: no results stored, Redis broker, and database
# connections kept between tasks (by default Celery's Django fixup closes them after each one).
CELERY_BROKER_URL = os.environ.get("PEER_BROKER_URL", REDIS_URL)
CELERY_TASK_IGNORE_RESULT = True
CELERY_DB_REUSE_MAX = 100_000
CELERY_WORKER_HIJACK_ROOT_LOGGER = False

# django-rq: the queue `manage.py rqworker peer` serves.
RQ_QUEUES = {**RQ_QUEUES, "peer": {"URL": REDIS_URL}}

# What a team writes by hand authenticates with DRF's own TokenAuthentication (a database read
# per request), not the demo site's asyncrest.auth.CachedTokenAuthentication.
REST_FRAMEWORK = {**REST_FRAMEWORK, "DEFAULT_AUTHENTICATION_CLASSES": [
    "rest_framework.authentication.TokenAuthentication",
    "rest_framework.authentication.SessionAuthentication",
]}
