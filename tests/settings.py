"""Settings for the test suite: the site's settings plus the test jobs in tests/jobs.py."""
import json
import os

# The site refuses to start without a key when DEBUG is off; tests run with DEBUG off.
os.environ.setdefault("SECRET_KEY", "asyncrest-tests-only-not-a-secret")
os.environ.setdefault("SECURE_SSL_REDIRECT", "0")

from demosite.settings import *  # noqa: F401,F403
from demosite.settings import ASYNCREST, DATABASES, INSTALLED_APPS, REDIS_URL, SQLITE, VAR_DIR

INSTALLED_APPS = [*INSTALLED_APPS, "tests"]

# Each test session gets its own queue, so concurrent runs may share one Redis.
TEST_QUEUE = os.environ.get("ASYNCREST_TEST_QUEUE", f"tests-{os.getpid()}")
# A queue no session worker serves: tests run its jobs with a worker of their own, in process.
PRIVATE_QUEUE = f"{TEST_QUEUE}-private"
RQ_QUEUES = {name: {"URL": REDIS_URL, "DEFAULT_TIMEOUT": 120} for name in (TEST_QUEUE, PRIVATE_QUEUE)}
ASYNCREST = {
    **ASYNCREST,
    "QUEUE": TEST_QUEUE,
    "PROGRESS_INTERVAL": 0.05,
    # Fault tests need faults noticed in seconds, not minutes.
    "HEARTBEAT_INTERVAL": 0.5,
    "LOST_AFTER": 3,
    "QUEUED_GRACE": 1,
    "RETRY_BACKOFF": 0.5,
    "TIMEOUT_GRACE": 1,
    # Throttling has its own tests; elsewhere it would count across tests that reuse user ids.
    "ORDER_RATE": None,
    # Webhook tests call receivers they run on localhost.
    "WEBHOOK_ALLOWED_HOSTS": ("localhost",),
    "WEBHOOK_BACKOFF": 0.2,
    # Workers reconcile only where a test asks for it (ASYNCREST_TEST_RECONCILE_INTERVAL).
    "RECONCILE_INTERVAL": float(os.environ.get("ASYNCREST_TEST_RECONCILE_INTERVAL", 3600)),
}

# Each test session gets its own test database, so that two runs (a developer's and CI's)
# on one machine never drop each other's.
if SQLITE:
    DATABASES["default"]["TEST"] = {"NAME": str(VAR_DIR / f"test-{os.getpid()}.sqlite3")}
else:
    DATABASES["default"]["TEST"] = {"NAME": f"test_{DATABASES['default']['NAME']}_{os.getpid()}"}
# A worker process started by the tests opens the test database, not the real one.
if os.environ.get("ASYNCREST_TEST_DB_NAME"):
    DATABASES["default"]["NAME"] = os.environ["ASYNCREST_TEST_DB_NAME"]

# Tests pin the offline tagger; a worker started for the LLM tests gets another as JSON.
TAGGING = json.loads(os.environ.get("ASYNCREST_TEST_TAGGING") or "null") or {
    "BACKEND": "tagging.taggers.keywords.KeywordTagger", "OPTIONS": {},
}
# A worker started with ASYNCREST_TEST_TAGGER_DELAY tags slowly, for tests that interrupt it.
if os.environ.get("ASYNCREST_TEST_TAGGER_DELAY"):
    TAGGING = {"BACKEND": "tests.taggers.SlowTagger", "OPTIONS": {"delay": float(os.environ["ASYNCREST_TEST_TAGGER_DELAY"])}}

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
