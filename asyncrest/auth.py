"""Token authentication with the token's lookup kept in memory for a few seconds.

DRF's `TokenAuthentication` reads the token and its user from the database on every
request: on an order POST that read costs as much as the order's own INSERT. This class
keeps what a lookup found, per process, for `ASYNCREST["TOKEN_CACHE_SECONDS"]` (5 s; 0
turns the cache off), and forgets it at once in the process that deletes or changes the
token or its user. A token deleted, or a user deactivated, in another process is refused
there within those seconds. Only tokens that authenticated are kept, at most
`MAX_ENTRIES` of them.

    REST_FRAMEWORK = {"DEFAULT_AUTHENTICATION_CLASSES": ["asyncrest.auth.CachedTokenAuthentication", ...]}
"""
from __future__ import annotations

import copy
import threading
import time

from rest_framework.authentication import TokenAuthentication

from . import conf

MAX_ENTRIES = 10_000


class TokenCache:
    """What lookups found, by key: (user, token, until); thread-safe."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._entries: dict[str, tuple] = {}

    def get(self, key: str):
        entry = self._entries.get(key)
        if entry is None:
            return None
        if entry[2] <= time.monotonic():
            self.forget(key)
            return None
        # Copies: a request that caches things on its user or token never shows them to the next one.
        user, token = copy.copy(entry[0]), copy.copy(entry[1])
        if token is not None:
            token.user = user
        return user, token

    def put(self, key: str, user, token, seconds: float) -> None:
        with self._lock:
            if len(self._entries) >= MAX_ENTRIES:
                now = time.monotonic()
                self._entries = {k: v for k, v in self._entries.items() if v[2] > now}
                if len(self._entries) >= MAX_ENTRIES:
                    self._entries.pop(next(iter(self._entries)))
            self._entries[key] = (copy.copy(user), copy.copy(token), time.monotonic() + seconds)

    def forget(self, key: str) -> None:
        with self._lock:
            self._entries.pop(key, None)

    def forget_user(self, user_pk) -> None:
        with self._lock:
            self._entries = {k: v for k, v in self._entries.items() if v[0].pk != user_pk}

    def clear(self) -> None:
        with self._lock:
            self._entries = {}


tokens = TokenCache()


class CachedTokenAuthentication(TokenAuthentication):
    """DRF's `TokenAuthentication` (`Authorization: Token <key>`), its lookup cached per process."""

    def authenticate_credentials(self, key):
        seconds = conf.get("TOKEN_CACHE_SECONDS")
        if seconds and (found := tokens.get(key)) is not None:
            return found
        user, token = super().authenticate_credentials(key)  # AuthenticationFailed for a bad key
        if seconds:
            tokens.put(key, user, token, seconds)
        return user, token


def forget_token(sender, instance, **kwargs) -> None:
    """A receiver of the token model's post_save and post_delete."""
    tokens.forget(instance.key)


def forget_user(sender, instance, **kwargs) -> None:
    """A receiver of the user model's post_save and post_delete: a deactivated user is refused at once."""
    tokens.forget_user(instance.pk)
