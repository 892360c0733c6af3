"""Settings for the test suite: the site's settings plus the test jobs in tests/jobs.py."""
import os

from tagging.settings import *  # noqa: F401,F403
from tagging.settings import ASYNCREST, DATABASES, INSTALLED_APPS, REDIS_URL, VAR_DIR

INSTALLED_APPS = [*INSTALLED_APPS, "tests"]

# Each test session gets its own queue, so concurrent runs may share one Redis.
TEST_QUEUE = os.environ.get("ASYNCREST_TEST_QUEUE", f"tests-{os.getpid()}")
RQ_QUEUES = {TEST_QUEUE: {"URL": REDIS_URL, "DEFAULT_TIMEOUT": 120}}
ASYNCREST = {**ASYNCREST, "QUEUE": TEST_QUEUE, "PROGRESS_INTERVAL": 0.05}

if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    DATABASES["default"]["TEST"] = {"NAME": str(VAR_DIR / f"test-{os.getpid()}.sqlite3")}
# A worker process started by the tests opens the test database, not the real one.
if os.environ.get("ASYNCREST_TEST_DB_NAME"):
    DATABASES["default"]["NAME"] = os.environ["ASYNCREST_TEST_DB_NAME"]

# Tests pin the offline tagger unless a test selects another one.
TAGGING = {"BACKEND": "tagging.taggers.keywords.KeywordTagger", "OPTIONS": {}}

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
