"""Lock out logins per account and per client address after repeated failures, counted in the cache.

`LockoutBackend` comes first in AUTHENTICATION_BACKENDS and refuses, before any password
is checked, an account or an address that failed `LOGIN_FAILURE_LIMIT` times within
`LOGIN_FAILURE_WINDOW` seconds, for `LOGIN_LOCKOUT_SECONDS`. Django's `authenticate()`
then fails as for a wrong password, so every login page shows its ordinary error.
"""
from __future__ import annotations

import ipaddress
import logging
import time
import unicodedata

from asgiref.sync import sync_to_async
from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.signals import user_logged_in, user_login_failed
from django.core.cache import caches
from django.core.exceptions import PermissionDenied
from django.utils.crypto import salted_hmac

logger = logging.getLogger("demosite.lockout")

PREFIX = "login-lockout"


def now() -> float:
    """Return the current time in seconds (tests move it forward)."""
    return time.time()


def account_subject(username) -> str | None:
    """Return the key part of an account: a keyed hash of its normalized name, never the name itself."""
    if not isinstance(username, str) or not username:
        return None
    # Case and Unicode variants of one name count together (UsernameField normalizes NFKC too).
    name = unicodedata.normalize("NFKC", username).casefold()
    return "account:" + salted_hmac(PREFIX, name).hexdigest()[:32]


def client_address(request) -> str | None:
    """Return the client's IP address: REMOTE_ADDR, or with PROXY_HOPS = n the n-th X-Forwarded-For
    entry from its end, the one the outermost trusted proxy added (DRF's NUM_PROXIES rule).

    Entries before it were written by the client, and are never trusted.
    """
    if request is None:
        return None
    meta = request.META
    candidates = [meta.get("REMOTE_ADDR", "")]
    hops = getattr(settings, "PROXY_HOPS", 0)
    forwarded = [entry.strip() for entry in meta.get("HTTP_X_FORWARDED_FOR", "").split(",") if entry.strip()]
    if hops and forwarded:
        candidates.insert(0, forwarded[-min(hops, len(forwarded))])
    for candidate in candidates:
        try:
            return str(ipaddress.ip_address(candidate))
        except ValueError:
            continue  # absent or not an address: fall back to the next source
    return None


def subjects(request, username) -> list[str]:
    """Return the account and address keys an attempt counts against."""
    address = client_address(request)
    return [s for s in (account_subject(username), address and f"address:{address}") if s]


def cache():
    """Return the cache the counts live in, shared by every web process."""
    return caches[getattr(settings, "LOGIN_LOCKOUT_CACHE", "default")]


def limit() -> int:
    """Return how many failures lock out (0: no lockout)."""
    return int(getattr(settings, "LOGIN_FAILURE_LIMIT", 5))


def unavailable(exc: Exception) -> None:
    """Log that the cache failed: logins go on, unthrottled (docs/security.md says why)."""
    logger.error("login lockout unavailable, logins are not throttled: %s: %s", type(exc).__name__, exc)


def locked(keys: list[str]) -> list[str]:
    """Return those of `keys` that are locked out now; none if the cache cannot be read."""
    try:
        until = cache().get_many([f"{PREFIX}:locked:{key}" for key in keys])
    except Exception as exc:  # any backend's error means the cache is unreachable
        unavailable(exc)
        return []
    return [key for key in keys if until.get(f"{PREFIX}:locked:{key}", 0) > now()]


def username_of(credentials: dict):
    """Return the user name of authenticate()'s credentials, whatever the user model calls it."""
    return credentials.get("username", credentials.get(get_user_model().USERNAME_FIELD))


class LockoutBackend:
    """Refuse logins for locked-out accounts and addresses; authenticate no one itself.

    It has no `get_user()`, so sessions are never tied to it (force_login and login()
    pick the backend that authenticated).
    """

    def authenticate(self, request, **credentials):
        """Raise PermissionDenied, which stops authenticate() with a failure, while locked out."""
        if limit() <= 0:
            return None
        refused = locked(subjects(request, username_of(credentials)))
        if refused:
            logger.warning("login locked out: refused for %s", ", ".join(refused))
            raise PermissionDenied("locked out")
        return None

    async def aauthenticate(self, request, **credentials):
        """Refuse a locked-out login from async code, as authenticate() does."""
        return await sync_to_async(self.authenticate)(request, **credentials)


def count_failure(sender, credentials, request=None, **kwargs):
    """Count a failed login against its account and address; lock out those that reach the limit."""
    keys = subjects(request, username_of(credentials))
    # A refused attempt checked no password, so it is no guess; counting it would extend the
    # lockout for as long as someone keeps knocking, the real owner too.
    if limit() <= 0 or not keys or locked(keys):
        return
    window = int(getattr(settings, "LOGIN_FAILURE_WINDOW", 900))
    lockout = int(getattr(settings, "LOGIN_LOCKOUT_SECONDS", 900))
    store = cache()
    try:
        for key in keys:
            counter = f"{PREFIX}:failures:{key}"
            # add() starts the window at the first failure; incr() is atomic, so parallel
            # guesses cannot all read the same count.
            store.add(counter, 0, timeout=window)
            try:
                failures = store.incr(counter)
            except ValueError:  # the window ended between add() and incr()
                store.add(counter, 1, timeout=window)
                failures = 1
            if failures >= limit():
                store.set(f"{PREFIX}:locked:{key}", now() + lockout, timeout=lockout)
                logger.warning("login locked out: %s after %d failures, for %d s", key, failures, lockout)
    except Exception as exc:  # any backend's error means the cache is unreachable
        unavailable(exc)


def reset_account(sender, request, user, **kwargs):
    """Forget the failures of an account that has just logged in (its address keeps its count)."""
    key = account_subject(user.get_username())
    try:
        cache().delete(f"{PREFIX}:failures:{key}")
    except Exception as exc:  # any backend's error means the cache is unreachable
        unavailable(exc)


# Django imports every listed backend before authenticate() sends its first signal, so these
# are connected in every process that checks a password.
user_login_failed.connect(count_failure, dispatch_uid="demosite.lockout.count_failure")
user_logged_in.connect(reset_account, dispatch_uid="demosite.lockout.reset_account")
