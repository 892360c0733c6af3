"""CachedTokenAuthentication: a token's lookup is kept a few seconds, and forgotten when it changes."""
import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from asyncrest.auth import MAX_ENTRIES, CachedTokenAuthentication, TokenCache, tokens

pytestmark = pytest.mark.django_db
ORDERS = "/async/orders/"


@pytest.fixture(autouse=True)
def cached(settings):
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "DEFAULT_AUTHENTICATION_CLASSES": [
        "asyncrest.auth.CachedTokenAuthentication"]}
    tokens.clear()
    yield
    tokens.clear()


def client_of(token: Token) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
    return client


def token_queries(client: APIClient) -> list[str]:
    with CaptureQueriesContext(connection) as queries:
        assert client.get(ORDERS).status_code == 200
    return [q["sql"] for q in queries if "authtoken_token" in q["sql"]]


def test_the_second_request_of_a_token_reads_no_token(user):
    client = client_of(Token.objects.create(user=user))
    assert len(token_queries(client)) == 1
    assert token_queries(client) == []


def test_a_deleted_token_is_refused_at_once(user):
    token = Token.objects.create(user=user)
    client = client_of(token)
    assert client.get(ORDERS).status_code == 200
    token.delete()
    assert client.get(ORDERS).status_code == 401


def test_a_deleted_token_is_refused_at_once_when_deleted_through_a_queryset(user):
    token = Token.objects.create(user=user)
    client = client_of(token)
    assert client.get(ORDERS).status_code == 200
    Token.objects.filter(user=user).delete()
    assert client.get(ORDERS).status_code == 401


def test_a_deactivated_or_deleted_user_is_refused_at_once(user, other_user):
    client, other = client_of(Token.objects.create(user=user)), client_of(Token.objects.create(user=other_user))
    assert client.get(ORDERS).status_code == 200 and other.get(ORDERS).status_code == 200
    user.is_active = False
    user.save()
    assert client.get(ORDERS).status_code == 401
    other_user.delete()
    assert other.get(ORDERS).status_code == 401


def test_a_token_deleted_by_another_process_is_refused_once_its_seconds_pass(user, settings, monkeypatch):
    settings.ASYNCREST = {**settings.ASYNCREST, "TOKEN_CACHE_SECONDS": 5}
    clock = [1000.0]
    monkeypatch.setattr("asyncrest.auth.time.monotonic", lambda: clock[0])
    token = Token.objects.create(user=user)
    client = client_of(token)
    assert client.get(ORDERS).status_code == 200
    with connection.cursor() as cursor:  # no signal: as another process's DELETE
        cursor.execute("DELETE FROM authtoken_token WHERE key = %s", [token.key])
    clock[0] += 4.9
    assert client.get(ORDERS).status_code == 200, "trusted for TOKEN_CACHE_SECONDS"
    clock[0] += 0.2
    assert client.get(ORDERS).status_code == 401


def test_with_zero_seconds_every_request_reads_the_token(user, settings):
    settings.ASYNCREST = {**settings.ASYNCREST, "TOKEN_CACHE_SECONDS": 0}
    client = client_of(Token.objects.create(user=user))
    assert len(token_queries(client)) == 1
    assert len(token_queries(client)) == 1


@pytest.mark.parametrize("header", ["Token not-a-key", "Token ", "Token a b", "Bearer x", "Token caf\u00e9"])
def test_bad_keys_are_refused_and_never_kept(user, header):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=header)
    for _ in range(2):
        assert client.get(ORDERS).status_code == 401
    assert tokens._entries == {}


def test_each_request_gets_its_own_user_object(user, rf):
    key = Token.objects.create(user=user).key
    auth = CachedTokenAuthentication()
    first, _ = auth.authenticate_credentials(key)
    first.first_name = "changed by a view"
    second, token = auth.authenticate_credentials(key)
    assert second.pk == user.pk and second.first_name == "" and second is not first
    assert token.key == key and token.user is second


def test_the_cache_holds_at_most_max_entries(user):
    cache = TokenCache()
    for i in range(MAX_ENTRIES + 5):
        cache.put(f"key-{i}", user, None, 60)
    assert len(cache._entries) == MAX_ENTRIES
    assert cache.get(f"key-{MAX_ENTRIES + 4}") is not None
