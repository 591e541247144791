"""Access tokens in the shared cache are sealed with the field-encryption key: Redis never
holds one readable, a retired key still opens them while it is listed, and anything no key
opens is a miss (logged, fetched again), never a crash. The renewal lock is redis-py's, and
without Redis the cache's own add/delete stands in."""

from __future__ import annotations

import logging
import os

import pytest
import redis
from cryptography.fernet import Fernet
from django.core.cache import cache, caches

from accounts.models import OfficialAccount
from accounts.tokens import CacheTokenProvider, accounts_with_due_tokens, token_cache_key
from accounts.wechat_clients import client_for, shared_session
from tests.accounts.token_support import token_calls, twin
from tests.factories import make_account, make_brand
from wechat.client import Transport
from wechat.sandbox.server import SandboxServer
from wechat.tokens import StableTokenFetcher

UNREADABLE = "the cached token of {} cannot be read; fetching a new one"


@pytest.fixture
def account(db: None, portal_sandbox: SandboxServer) -> OfficialAccount:
    account = make_account(brand=make_brand())
    twin(portal_sandbox, account)
    return account


def _raw_redis_value(appid: str) -> bytes:
    key = cache.make_and_validate_key(token_cache_key(appid))
    value = redis.Redis.from_url(os.environ["REDIS_URL"]).get(key)
    assert value is not None, "no token under the key the provider uses"
    return value


def test_redis_never_holds_the_token_readable(account: OfficialAccount) -> None:
    token = client_for(account).access_token()

    raw = _raw_redis_value(account.appid)
    assert token.encode() not in raw
    assert b"sealed" in raw
    # The beat still reads the instants without opening anything.
    assert accounts_with_due_tokens() == []


def test_a_token_sealed_with_a_retired_key_reads_while_the_key_is_listed(
    account: OfficialAccount, portal_sandbox: SandboxServer, settings, caplog
) -> None:
    old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    settings.FIELD_ENCRYPTION_KEY = old
    token = client_for(account).access_token()

    settings.FIELD_ENCRYPTION_KEY = f"{new},{old}"  # rotation: new first, old still listed
    assert client_for(account).access_token() == token
    assert token_calls(portal_sandbox, account.appid) == 1

    settings.FIELD_ENCRYPTION_KEY = new  # the old key dropped: the entry is a miss
    with caplog.at_level(logging.WARNING, logger="accounts.tokens"):
        assert client_for(account).access_token()
    assert token_calls(portal_sandbox, account.appid) == 2
    assert UNREADABLE.format(account.appid) in caplog.messages


@pytest.mark.parametrize(
    "garbage",
    [
        "not an entry",
        {"sealed": "gAAAAA-not-fernet", "fetched_at": 1.0, "refresh_at": 9e12,
         "expires_at": 9e12},
        # An entry written before tokens were sealed.
        {"token": "plaintext-token", "fetched_at": 1.0, "refresh_at": 9e12, "expires_at": 9e12},
        {"sealed": None},
    ],
    ids=["string", "bad-ciphertext", "unsealed-entry", "no-instants"],
)
def test_garbage_in_the_cache_means_a_refetch_not_a_crash(
    account: OfficialAccount, portal_sandbox: SandboxServer, garbage: object, caplog
) -> None:
    cache.set(token_cache_key(account.appid), garbage, timeout=600)

    with caplog.at_level(logging.WARNING, logger="accounts.tokens"):
        token = client_for(account).access_token()

    assert token and token != "plaintext-token"
    assert token_calls(portal_sandbox, account.appid) == 1
    assert UNREADABLE.format(account.appid) in caplog.messages
    # The garbage is replaced by a sealed entry the next call reads without fetching.
    assert token.encode() not in _raw_redis_value(account.appid)
    assert client_for(account).access_token() == token
    assert token_calls(portal_sandbox, account.appid) == 1


@pytest.mark.parametrize("garbage", ["not an entry", {"sealed": "x"}, {"refresh_at": "soon"}])
def test_the_beat_counts_an_unreadable_entry_as_due(
    account: OfficialAccount, garbage: object
) -> None:
    cache.set(token_cache_key(account.appid), garbage, timeout=600)
    assert accounts_with_due_tokens() == [account.pk]


def _provider(sb: SandboxServer, appid: str, secret: str, alias: str) -> CacheTokenProvider:
    transport = Transport(sb.base_url, session=shared_session())
    return CacheTokenProvider(StableTokenFetcher(transport, {appid: secret}), alias=alias)


def test_the_renewal_lock_is_a_redis_lock_under_the_cache_key(
    account: OfficialAccount, portal_sandbox: SandboxServer
) -> None:
    provider = _provider(portal_sandbox, account.appid, account.app_secret, "default")
    lock_key = cache.make_and_validate_key(token_cache_key(account.appid, part=".lock"))
    client = redis.Redis.from_url(os.environ["REDIS_URL"])

    lock = provider._acquire(account.appid)
    assert isinstance(lock, redis.lock.Lock)
    assert client.exists(lock_key)
    assert provider.renew_if_due(account.appid) == "busy"  # another worker holds it
    provider._release(account.appid, lock)
    assert not client.exists(lock_key)
    assert provider.renew_if_due(account.appid) == "renewed"


def test_without_redis_the_cache_lock_stands_in(
    account: OfficialAccount, portal_sandbox: SandboxServer, settings
) -> None:
    settings.REDIS_URL = ""
    settings.CACHES = {
        **settings.CACHES,
        "demo": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache",
                 "LOCATION": "tokens-without-redis"},
    }
    provider = _provider(portal_sandbox, account.appid, account.app_secret, "demo")
    lock_key = token_cache_key(account.appid, part=".lock")

    caches["demo"].add(lock_key, 12345, timeout=30)  # another thread is renewing
    assert provider.renew_if_due(account.appid) == "busy"
    caches["demo"].delete(lock_key)

    assert provider.renew_if_due(account.appid) == "renewed"
    assert caches["demo"].get(lock_key) is None  # released
    assert provider.get_token(account.appid)
    assert token_calls(portal_sandbox, account.appid) == 1
