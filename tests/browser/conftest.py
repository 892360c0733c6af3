"""Headless Chromium (Debian's `chromium`) driven by Playwright, and the site served as in production."""
from __future__ import annotations

import os
from operator import attrgetter
from pathlib import Path

import pytest
from django.test.testcases import LiveServerThread

from tests.conftest import start_private_worker

CHROMIUM = Path(os.environ.get("ASYNCREST_TEST_CHROMIUM", "/usr/bin/chromium"))
# Playwright's own browser download is never used: it cannot be fetched here, and Debian's
# chromium is what `.ci/run` installs.
LAUNCH_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]


def missing() -> str | None:
    """Return why the browser tests cannot run here, or None."""
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "the playwright package is not installed (pip install -e '.[test]')"
    if not CHROMIUM.exists():
        return f"no Chromium at {CHROMIUM} (apt-get install chromium; .ci/run does)"
    return None


@pytest.fixture
def browser(monkeypatch):
    """A headless Chromium for one test; in CI (CI=true) a missing one fails instead of skipping."""
    reason = missing()
    if reason:
        if os.environ.get("CI"):
            pytest.fail(f"browser tests must run in CI, but {reason}")
        pytest.skip(reason)
    from playwright.sync_api import sync_playwright

    # Playwright's sync API keeps an asyncio loop running in this thread, which Django takes
    # for an async context; the test's database calls are still synchronous. Started per
    # test, so the rest of the suite runs without the loop and with Django's check on.
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=LAUNCH_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def page(browser):
    """A page in a fresh browser context (no cookies); console errors are kept in `page.errors`."""
    context = browser.new_context()
    page = context.new_page()
    page.set_default_timeout(30_000)
    page.errors = []
    page.on("console", lambda message: message.type == "error" and page.errors.append(message.text))
    page.on("pageerror", lambda error: page.errors.append(str(error)))
    yield page
    context.close()


@pytest.fixture
def site(transactional_db, redis_url):
    """The site on a free port of localhost, static files served by WhiteNoise as under gunicorn.

    pytest-django's `live_server` serves static files with Django's test handler, which
    skips the middleware; a browser importing asyncrest.js from another origin needs the
    CORS headers that the real stack sends.
    """
    # The handler the thread builds wraps the site in a media-file handler; serve the site itself.
    server = LiveServerThread("localhost", static_handler=attrgetter("application"))
    server.daemon = True
    server.start()
    server.is_ready.wait()
    if server.error:
        raise server.error
    yield f"http://localhost:{server.port}"
    server.terminate()


@pytest.fixture
def slow_worker(settings, redis_url, tmp_path):
    """A worker of a private queue whose tagger takes 50 ms per entry, so progress can be watched."""
    worker = start_private_worker(settings, redis_url, tmp_path / "slow-worker.log", "browser",
                                  ASYNCREST_TEST_TAGGER_DELAY="0.05")
    yield worker
    worker.stop()
