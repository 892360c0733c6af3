"""The login lockout (demosite/lockout.py): per account and per client address, counted in a real Redis."""
import base64
import logging
import os
import uuid
from pathlib import Path

import pytest
from django.contrib.auth.models import User
from django.test import Client, RequestFactory
from rest_framework.authentication import BasicAuthentication
from rest_framework.exceptions import AuthenticationFailed
from rest_framework.request import Request
from rest_framework.settings import api_settings

from demosite import lockout

pytestmark = pytest.mark.django_db

#: The two login pages, and where a successful login sends you.
PAGES = {"admin": ("/admin/login/", "/admin/"), "api-auth": ("/api-auth/login/", "/")}


@pytest.fixture(autouse=True)
def lockout_cache(settings, redis_url, redis_client):
    """Count in the test Redis under a prefix of this test's own; remove its keys afterwards."""
    prefix = f"lockout-test-{uuid.uuid4().hex[:12]}"
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache",
                                   "LOCATION": redis_url, "KEY_PREFIX": prefix}}
    settings.LOGIN_FAILURE_LIMIT, settings.LOGIN_FAILURE_WINDOW, settings.LOGIN_LOCKOUT_SECONDS = 5, 900, 900
    yield
    for key in redis_client.scan_iter(f"{prefix}:*"):
        redis_client.delete(key)


@pytest.fixture
def staff():
    """A staff user, so that both login pages let the right password in."""
    return User.objects.create_user("carol", password="carol-password", is_staff=True)


def log_in(page: str, username: str, password: str, address: str = "10.0.0.1"):
    """POST a login page from `address`; return the response and whether it logged in."""
    url, landing = PAGES[page]
    client = Client(REMOTE_ADDR=address)
    response = client.post(url, {"username": username, "password": password, "next": landing})
    return response, "_auth_user_id" in client.session


def form_errors(response) -> list[str]:
    return list(response.context["form"].non_field_errors())


@pytest.mark.parametrize("page", PAGES)
def test_five_wrong_passwords_lock_the_account_out_with_the_ordinary_error(page, staff, caplog):
    wrong, _ = log_in(page, "carol", "wrong")
    for _ in range(4):
        assert log_in(page, "carol", "wrong")[1] is False
    with caplog.at_level(logging.WARNING, logger="demosite.lockout"):
        refused, logged_in = log_in(page, "carol", "carol-password")
    assert not logged_in
    assert refused.status_code == 200 and form_errors(refused) == form_errors(wrong)  # no word of a lockout
    assert any("login locked out" in r.getMessage() and r.levelno == logging.WARNING for r in caplog.records)
    assert "carol" not in caplog.text  # the account is named by a keyed hash only
    # The account stays locked from another address, for either page.
    assert log_in("api-auth", "carol", "carol-password", address="10.0.0.2")[1] is False


def test_a_locked_account_looks_like_an_unknown_one(staff):
    for _ in range(5):
        log_in("api-auth", "carol", "wrong")
    locked, _ = log_in("api-auth", "carol", "carol-password", address="10.0.0.2")
    unknown, _ = log_in("api-auth", "nobody-here", "carol-password", address="10.0.0.3")
    assert form_errors(locked) == form_errors(unknown)


def test_another_account_from_another_address_is_unaffected(staff, user):
    for _ in range(6):
        log_in("admin", "carol", "wrong", address="10.0.0.1")
    assert log_in("api-auth", "alice", "alice-password", address="10.0.0.2")[1] is True


@pytest.mark.parametrize("page", PAGES)
def test_after_the_cool_down_the_right_password_works_again(page, staff, monkeypatch):
    for _ in range(5):
        log_in(page, "carol", "wrong")
    assert log_in(page, "carol", "carol-password")[1] is False
    later = lockout.now() + 901
    monkeypatch.setattr(lockout, "now", lambda: later)
    assert log_in(page, "carol", "carol-password")[1] is True


def test_many_accounts_from_one_address_lock_the_address(staff):
    for name in ["a1", "a2", "a3", "a4", "a5"]:
        log_in("api-auth", name, "guess", address="192.0.2.7")
    assert log_in("admin", "carol", "carol-password", address="192.0.2.7")[1] is False
    assert log_in("admin", "carol", "carol-password", address="192.0.2.8")[1] is True


def test_a_successful_login_resets_the_accounts_count(staff):
    for _ in range(4):
        log_in("api-auth", "carol", "wrong", address="10.0.0.1")
    assert log_in("api-auth", "carol", "carol-password", address="10.0.0.1")[1] is True
    for _ in range(4):  # from another address, whose own count is 4 too, then
        log_in("api-auth", "carol", "wrong", address="10.0.0.2")
    assert log_in("api-auth", "carol", "carol-password", address="10.0.0.2")[1] is True


def test_refused_attempts_do_not_extend_the_lockout(staff, monkeypatch):
    for _ in range(5):
        log_in("api-auth", "carol", "wrong")
    start = lockout.now()
    for _ in range(20):
        log_in("api-auth", "carol", "wrong")
    monkeypatch.setattr(lockout, "now", lambda: start + 901)
    assert log_in("api-auth", "carol", "carol-password")[1] is True


@pytest.mark.parametrize("hops,forwarded,expected", [
    (0, "203.0.113.9", "10.0.0.254"),  # no proxy trusted: what a client writes there is ignored
    (1, "203.0.113.9", "203.0.113.9"),  # one proxy (compose's nginx) added what it saw
    (1, "198.51.100.66, 203.0.113.9", "203.0.113.9"),  # the client's own first entry is not believed
    (2, "198.51.100.66, 203.0.113.9, 10.0.0.7", "203.0.113.9"),  # a TLS proxy, then nginx
    (3, "203.0.113.9, 10.0.0.7", "203.0.113.9"),  # fewer entries than hops: the first there is
    (1, "not an address", "10.0.0.254"),
    (1, "", "10.0.0.254"),
])
def test_the_address_is_the_one_the_outermost_trusted_proxy_saw(settings, hops, forwarded, expected):
    settings.PROXY_HOPS = hops
    request = RequestFactory().get("/", REMOTE_ADDR="10.0.0.254", HTTP_X_FORWARDED_FOR=forwarded)
    assert lockout.client_address(request) == expected


@pytest.mark.parametrize("behind_proxy,hops_env,expected", [("", "", 0), ("1", "", 1), ("1", "2", 2), ("", "1", 1)])
def test_proxy_hops_come_from_the_environment_and_drf_throttles_use_them(monkeypatch, tmp_path, behind_proxy,
                                                                          hops_env, expected):
    import runpy

    monkeypatch.setattr(os, "environ", {"DEBUG": "1", "ASYNCREST_VAR_DIR": str(tmp_path), "BEHIND_PROXY": behind_proxy,
                                        "PROXY_HOPS": hops_env})
    values = runpy.run_path(str(Path(__file__).resolve().parent.parent / "demosite" / "settings.py"))
    assert values["PROXY_HOPS"] == expected
    assert values["REST_FRAMEWORK"]["NUM_PROXIES"] == expected, "else DRF keys anonymous throttles by any X-Forwarded-For"


def test_basic_auth_would_be_locked_out_too(staff):
    # The site authenticates the API by token and session, and neither checks a password.
    assert BasicAuthentication not in api_settings.DEFAULT_AUTHENTICATION_CLASSES
    for _ in range(5):
        log_in("api-auth", "carol", "wrong")
    right = base64.b64encode(b"carol:carol-password").decode()
    request = Request(RequestFactory().get("/", REMOTE_ADDR="10.0.0.50", HTTP_AUTHORIZATION=f"Basic {right}"))
    with pytest.raises(AuthenticationFailed):
        BasicAuthentication().authenticate(request)


def test_an_unreachable_cache_lets_logins_through(settings, staff, caplog):
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache",
                                   "LOCATION": "redis://127.0.0.1:1/0"}}
    for _ in range(6):
        log_in("api-auth", "carol", "wrong")
    assert log_in("api-auth", "carol", "carol-password")[1] is True
    assert "login lockout unavailable" in caplog.text


def test_a_limit_of_zero_turns_the_lockout_off(settings, staff):
    settings.LOGIN_FAILURE_LIMIT = 0
    for _ in range(6):
        log_in("api-auth", "carol", "wrong")
    assert log_in("api-auth", "carol", "carol-password")[1] is True
