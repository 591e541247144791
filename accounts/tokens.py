"""Access tokens in the shared cache, renewed by one worker at a time.

Fetching a token again invalidates the previous one, so every process reads one cache
(Redis in production) and only the holder of a short cache lock calls the platform. While
a valid token is cached nobody waits: when it comes due (``margin`` seconds before expiry)
the first worker to take the lock renews it and the others keep using the old one. Only
when no valid token is cached do callers poll for the lock holder's result.

A failed renewal is remembered for ``failure_cooldown`` seconds so that a platform outage
does not turn every API call into a token call; the old token stays in use until it
really expires, and the failure is reported to ``TokenEvents`` (the account's health).

The cache is shared by every process and readable by anyone with access to Redis, so the
token is sealed with the field-encryption key (``accounts.crypto_fields.seal``: 15 to 30 µs
to seal or to open on the 2-core test machine, against 100 to 150 µs for the Redis round
trip that carries it). Its instants stay in the clear for the beat's one ``get_many``. A
value no configured key opens is a miss: logged, then fetched again.
"""

from __future__ import annotations

import logging
import math
import secrets
import time
from collections.abc import Callable
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any, Literal, Protocol
from zoneinfo import ZoneInfo

import redis
from django.conf import settings
from django.core.cache import caches
from django.core.cache.backends.base import BaseCache
from redis.exceptions import LockError

from accounts.crypto_fields import seal, unseal
from wechat.errors import (
    RefreshTokenInvalid,
    TransportError,
    WeChatError,
    WeChatException,
    error_for,
)
from wechat.tokens import FetchedToken, TokenFetcher

logger = logging.getLogger(__name__)

BEIJING = ZoneInfo("Asia/Shanghai")
DAILY_TOKEN_QUOTA = 2000
QUOTA_WARN_AT = int(DAILY_TOKEN_QUOTA * 0.8)
# Renew this long before expiry (the platform keeps an old token 5 minutes after a new one).
REFRESH_MARGIN = 300.0

_INSTANTS = ("fetched_at", "refresh_at", "expires_at")

RenewResult = Literal["fresh", "renewed", "busy", "failed"]


class _Lock(Protocol):
    def release(self) -> None: ...


@lru_cache(maxsize=4)
def _redis(url: str) -> redis.Redis:
    """One client, and so one connection pool, per process (redis-py's pool notices a fork
    and reconnects in the child)."""
    return redis.Redis.from_url(url)


class _CacheLock:
    """The lock without Redis (the demo's in-process cache): add, then compare-and-delete,
    so a worker whose lock already expired cannot free someone else's."""

    def __init__(self, cache: BaseCache, key: str, nonce: int) -> None:
        self._cache, self._key, self._nonce = cache, key, nonce

    def release(self) -> None:
        if self._cache.get(self._key) == self._nonce:
            self._cache.delete(self._key)


class TokenUnavailable(TransportError):
    """No valid token is cached and the worker renewing it did not finish in time. Nothing
    was sent, so the retry table treats it as a connection that never opened (NOT_SENT):
    worth trying again, even for a send."""

    def __init__(self, message: str) -> None:
        super().__init__(message, maybe_sent=False)


class TokenEvents(Protocol):
    def fetched(self, appid: str, *, fetched_at: float, expires_at: float) -> None: ...

    def failed(self, appid: str, error: WeChatException) -> None: ...


def beijing_day(now: float) -> str:
    return datetime.fromtimestamp(now, BEIJING).strftime("%Y%m%d")


def token_cache_key(appid: str, namespace: str = "token", part: str = "") -> str:
    return f"wechat:{namespace}{part}:{appid}"


def _counter_key(appid: str, day: str) -> str:
    return f"wechat:token_calls:{appid}:{day}"


def token_calls_today(appid: str, *, alias: str = "default", now: float | None = None) -> int:
    """Token fetches made for ``appid`` since midnight Beijing time (the quota's day)."""
    day = beijing_day(time.time() if now is None else now)
    return int(caches[alias].get(_counter_key(appid, day)) or 0)


class CacheTokenProvider:
    """``wechat.tokens.TokenProvider`` on Django's cache, safe across threads and processes.

    Instances hold no state of their own, so building one per client is cheap; ``namespace``
    keeps kinds of token apart (an account's token and the platform's component token).
    """

    def __init__(
        self,
        fetcher: TokenFetcher,
        *,
        namespace: str = "token",
        alias: str = "default",
        margin: float = REFRESH_MARGIN,
        lock_timeout: float = 30.0,
        wait_timeout: float | None = None,
        poll_interval: float = 0.05,
        failure_cooldown: float = 10.0,
        events: TokenEvents | None = None,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._fetcher = fetcher
        self._namespace = namespace
        self._alias = alias
        self._margin = margin
        # Longer than the transport's timeouts and backoff, so a live holder keeps its lock.
        self._lock_timeout = lock_timeout
        self._wait_timeout = lock_timeout + 5 if wait_timeout is None else wait_timeout
        self._poll = poll_interval
        self._cooldown = failure_cooldown
        self._events = events
        self._clock = clock
        self._sleep = sleep

    # -- keys and cache ------------------------------------------------------------------

    @property
    def _cache(self) -> BaseCache:
        return caches[self._alias]

    def _key(self, appid: str, part: str = "") -> str:
        return token_cache_key(appid, self._namespace, part)

    def peek(self, appid: str) -> dict[str, Any] | None:
        """The cached entry (token, fetched_at, refresh_at, expires_at) if still valid."""
        entry = self._open(appid, self._cache.get(self._key(appid)))
        if entry is not None and self._clock() < entry["expires_at"]:
            return entry
        return None

    def _open(self, appid: str, stored: object) -> dict[str, Any] | None:
        if stored is None:
            return None
        token = unseal(stored.get("sealed")) if isinstance(stored, dict) else None
        instants = _instants(stored)
        if token is None or instants is None:
            # A retired key already dropped, an entry from before sealing, or garbage:
            # nobody can use it, so it is a miss and the lock holder fetches a new one.
            logger.warning("the cached token of %s cannot be read; fetching a new one", appid)
            return None
        return {"token": token, **instants}

    def is_due(self, appid: str) -> bool:
        entry = self.peek(appid)
        return entry is None or self._clock() >= entry["refresh_at"]

    def _acquire(self, appid: str) -> _Lock | None:
        cache, key = self._cache, self._key(appid, ".lock")
        if settings.REDIS_URL:
            # redis-py's lock, under the cache's own key (prefix and version), beside the
            # token it guards.
            lock = _redis(settings.REDIS_URL).lock(
                cache.make_and_validate_key(key), timeout=self._lock_timeout, blocking=False
            )
            return lock if lock.acquire() else None
        nonce = secrets.randbits(62)
        if cache.add(key, nonce, timeout=self._lock_timeout):
            return _CacheLock(cache, key, nonce)
        return None

    def _release(self, appid: str, lock: _Lock) -> None:
        try:
            lock.release()
        except LockError:
            # It expired while we fetched (and perhaps another worker holds it now); the
            # compare-and-delete left theirs alone.
            logger.warning("the token lock of %s expired before it was released", appid)

    # -- TokenProvider -------------------------------------------------------------------

    def get_token(self, appid: str) -> str:
        entry = self.peek(appid)
        if entry is None:
            return self._wait_or_fetch(appid, accept=lambda _entry: True)
        if self._clock() < entry["refresh_at"] or self._recent_failure(appid):
            return entry["token"]
        # Due but still valid: one worker renews, everybody else carries on with this one.
        lock = self._acquire(appid)
        if lock is None:
            return entry["token"]
        try:
            latest = self.peek(appid)
            if latest is not None and self._clock() < latest["refresh_at"]:
                return latest["token"]
            try:
                return self._fetch(appid, stale=None)["token"]
            except WeChatException:
                # Already logged and recorded; the old token works until it expires.
                return (latest or entry)["token"]
        finally:
            self._release(appid, lock)

    def refresh_token(self, appid: str, stale: str | None) -> str:
        """A token other than ``stale``; fetched only if the cache still holds ``stale``."""
        started = self._clock()
        if stale is None:
            # Nothing was rejected; the caller wants a token fetched from now on.
            return self._wait_or_fetch(appid, accept=lambda e: e["fetched_at"] > started)
        return self._wait_or_fetch(appid, accept=lambda e: e["token"] != stale, stale=stale)

    # -- for the beat task and the platform flow -----------------------------------------

    def renew_if_due(self, appid: str) -> RenewResult:
        """Renew a missing or due token unless another worker is already at it."""
        if not self.is_due(appid):
            return "fresh"
        lock = self._acquire(appid)
        if lock is None:
            return "busy"
        try:
            if not self.is_due(appid):
                return "fresh"
            try:
                self._fetch(appid, stale=None)
            except WeChatException:
                return "failed"
            return "renewed"
        finally:
            self._release(appid, lock)

    def prime(self, appid: str, token: str, expires_in: float) -> None:
        """Seed the cache with a token obtained elsewhere (``api_query_auth``)."""
        self._store(appid, FetchedToken(token, expires_in), notify=False)

    def invalidate(self, appid: str) -> None:
        self._cache.delete(self._key(appid))

    # -- internals -----------------------------------------------------------------------

    def _wait_or_fetch(
        self, appid: str, *, accept: Callable[[dict[str, Any]], bool], stale: str | None = None
    ) -> str:
        deadline = time.monotonic() + self._wait_timeout
        while True:
            entry = self.peek(appid)
            if entry is not None and accept(entry):
                return entry["token"]
            failure = self._recent_failure(appid)
            if failure is not None:
                raise _error_from(failure)
            lock = self._acquire(appid)
            if lock is not None:
                try:
                    entry = self.peek(appid)
                    if entry is not None and accept(entry):
                        return entry["token"]
                    return self._fetch(appid, stale=stale)["token"]
                finally:
                    self._release(appid, lock)
            if time.monotonic() >= deadline:
                raise TokenUnavailable(f"timed out waiting for the token of {appid}")
            self._sleep(self._poll)

    def _fetch(self, appid: str, *, stale: str | None) -> dict[str, Any]:
        """Call the platform; the caller holds the lock."""
        try:
            self._count(appid)
            fetched = self._fetcher.fetch(appid)
            if stale is not None and fetched.token == stale:
                # stable_token hands back the same token while it thinks it valid; the
                # platform just said otherwise, so ask for a new one explicitly.
                self._count(appid)
                fetched = self._fetcher.fetch(appid, force=True)
        except WeChatException as exc:
            self._remember_failure(appid, exc)
            raise
        return self._store(appid, fetched, notify=True)

    def _store(self, appid: str, fetched: FetchedToken, *, notify: bool) -> dict[str, Any]:
        now = self._clock()
        lifetime = max(float(fetched.expires_in), 1.0)
        lead = min(self._margin, lifetime / 2)
        instants = {
            "fetched_at": now,
            "refresh_at": now + lifetime - lead,
            "expires_at": now + lifetime,
        }
        cache = self._cache
        stored = {"sealed": seal(fetched.token), **instants}
        cache.set(self._key(appid), stored, timeout=math.ceil(lifetime))
        entry = {"token": fetched.token, **instants}
        cache.delete(self._key(appid, ".failed"))
        if notify and self._events is not None:
            try:
                self._events.fetched(appid, fetched_at=now, expires_at=entry["expires_at"])
            except Exception:
                # The token is good; a failing bookkeeping write must not fail the call.
                logger.exception("recording the token of %s failed", appid)
        return entry

    def _recent_failure(self, appid: str) -> dict[str, Any] | None:
        return self._cache.get(self._key(appid, ".failed"))

    def _remember_failure(self, appid: str, exc: WeChatException) -> None:
        failure = {
            "errcode": getattr(exc, "errcode", None),
            "message": getattr(exc, "errmsg", None) or str(exc),
            "path": getattr(exc, "path", None),
        }
        self._cache.set(self._key(appid, ".failed"), failure, timeout=self._cooldown)
        logger.warning("token fetch for %s failed: %s", appid, exc)
        if self._events is not None:
            try:
                self._events.failed(appid, exc)
            except Exception:
                logger.exception("recording the token failure of %s failed", appid)

    def _count(self, appid: str) -> None:
        cache, now = self._cache, self._clock()
        key = _counter_key(appid, beijing_day(now))
        # Two days, so the counter outlives its Beijing day whatever the server's zone.
        cache.add(key, 0, timeout=2 * 86400)
        calls = cache.incr(key)
        if calls > QUOTA_WARN_AT:
            logger.warning(
                "%s has made %d of its %d daily token calls", appid, calls, DAILY_TOKEN_QUOTA
            )


def _instants(stored: object) -> dict[str, float] | None:
    """The clear part of a cached entry, or None when it is not one."""
    try:
        return {name: float(stored[name]) for name in _INSTANTS}  # type: ignore[index]
    except (TypeError, KeyError, ValueError):
        return None


def _error_from(failure: dict[str, Any]) -> WeChatException:
    """The remembered failure as the exception the failing worker saw."""
    if failure.get("errcode") is not None:
        return error_for(int(failure["errcode"]), failure.get("message") or "", failure["path"])
    return TransportError(failure.get("message") or "token fetch failed", path=failure["path"])


class AccountTokenEvents:
    """Mirrors an account's token life on its row, for the health page.

    Without an ``account_id`` the account is found by appid (the platform's shared cache
    of authorizer tokens serves every authorised account).
    """

    def __init__(self, account_id: int | None, *, platform: bool = False) -> None:
        self.account_id = account_id
        self.platform = platform

    def _account_id(self, appid: str) -> int | None:
        if self.account_id is not None:
            return self.account_id
        from accounts.models import OfficialAccount

        return OfficialAccount.objects.filter(appid=appid).values_list("pk", flat=True).first()

    def fetched(self, appid: str, *, fetched_at: float, expires_at: float) -> None:
        from accounts.services import account_record_token

        account_id = self._account_id(appid)
        if account_id is None:
            return
        account_record_token(
            account_id=account_id,
            fetched_at=datetime.fromtimestamp(fetched_at, UTC),
            expires_at=datetime.fromtimestamp(expires_at, UTC),
        )

    def failed(self, appid: str, error: WeChatException) -> None:
        from accounts.models import OfficialAccount
        from accounts.platform import account_disconnect
        from accounts.services import account_record_token_error

        account_id = self._account_id(appid)
        if account_id is None:
            return
        errcode = error.errcode if isinstance(error, WeChatError) else None
        account_record_token_error(account_id=account_id, errcode=errcode, message=_reason(error))
        still_connected = OfficialAccount.objects.filter(
            pk=account_id, disconnected_at=None
        ).exists()
        if self.platform and isinstance(error, RefreshTokenInvalid) and still_connected:
            # The refresh token is void: only a new authorization brings the account back.
            account_disconnect(appid=appid, reason=_reason(error))


def _reason(error: WeChatException) -> str:
    return str(getattr(error, "reason", "") or error)


def accounts_with_due_tokens() -> list[int]:
    """Ids of active, connected accounts whose cached token is missing or due.

    One ``get_many`` for all of them, so the beat task stays cheap with thousands of
    accounts; the renewal itself re-checks under the account's lock.
    """
    from django.db.models import Q

    from accounts.models import OfficialAccount

    direct = Q(connection=OfficialAccount.Connection.DIRECT) & ~Q(app_secret="")
    platform = Q(connection=OfficialAccount.Connection.PLATFORM) & ~Q(authorizer_refresh_token="")
    rows = list(
        OfficialAccount.objects.filter(direct | platform, is_active=True, disconnected_at=None)
        .order_by("pk")
        .values_list("pk", "appid")
    )
    keys = {token_cache_key(appid): pk for pk, appid in rows}
    cached = caches["default"].get_many(list(keys))
    now = time.time()
    due = []
    for key, pk in keys.items():
        # The token itself is not opened here; an entry no key opens is found out (and
        # replaced) by the renewal, which reads it again under the lock.
        instants = _instants(cached.get(key))
        if instants is None or now >= instants["refresh_at"]:
            due.append(pk)
    return due
