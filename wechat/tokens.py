"""Access tokens: who fetches them and who caches them.

Fetching a token again invalidates the previous one (after a 5-minute overlap), so every
worker must read one shared cache and only one may refresh at a time. ``TokenProvider``
is that cache's interface; ``InMemoryTokenProvider`` serves one process (threads) and the
portal can put a Redis/DB-backed provider behind the same two methods.

How a token is obtained is a separate ``TokenFetcher``: ``/cgi-bin/stable_token`` (the
default: the platform hands every caller the same token, so several processes cannot
invalidate each other), classic ``/cgi-bin/token``, or a component authorizer refresh
(``wechat.client.component``).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from wechat.client.transport import Transport

Clock = Callable[[], float]


@dataclass(frozen=True)
class FetchedToken:
    token: str
    expires_in: float


class TokenFetcher(Protocol):
    def fetch(self, appid: str, *, force: bool = False) -> FetchedToken:
        """Obtain a token; ``force`` asks for a new one even if the platform has a valid one."""
        ...


class TokenProvider(Protocol):
    def get_token(self, appid: str) -> str:
        """A valid token, from cache when possible."""
        ...

    def refresh_token(self, appid: str, stale: str | None) -> str:
        """A token other than ``stale``, which the platform just rejected.

        Refetches only if the cache still holds ``stale``: when a concurrent caller has
        already replaced it, the newer token is returned without another fetch.
        """
        ...


SecretSource = Mapping[str, str] | Callable[[str], str]


def _secret(secrets: SecretSource, appid: str) -> str:
    return secrets(appid) if callable(secrets) else secrets[appid]


class StableTokenFetcher:
    """``POST /cgi-bin/stable_token``; ``force`` maps to ``force_refresh`` (20/day, 30 s apart)."""

    def __init__(self, transport: Transport, secrets: SecretSource) -> None:
        self._transport = transport
        self._secrets = secrets

    def fetch(self, appid: str, *, force: bool = False) -> FetchedToken:
        from wechat.client.retry import Safety

        data = self._transport.call(
            "POST",
            "/cgi-bin/stable_token",
            body={
                "grant_type": "client_credential",
                "appid": appid,
                "secret": _secret(self._secrets, appid),
                "force_refresh": force,
            },
            # A forced refresh is rationed by the platform, so it is not repeated blindly.
            safety=Safety.UNSAFE if force else Safety.IDEMPOTENT,
        )
        return FetchedToken(data["access_token"], float(data.get("expires_in", 7200)))


class ClassicTokenFetcher:
    """``GET /cgi-bin/token``: every fetch issues a new token (2000 a day by default)."""

    def __init__(self, transport: Transport, secrets: SecretSource) -> None:
        self._transport = transport
        self._secrets = secrets

    def fetch(self, appid: str, *, force: bool = False) -> FetchedToken:
        from wechat.client.retry import Safety

        data = self._transport.call(
            "GET",
            "/cgi-bin/token",
            params={
                "grant_type": "client_credential",
                "appid": appid,
                "secret": _secret(self._secrets, appid),
            },
            # Repeating is harmless: the previous token stays valid 5 more minutes.
            safety=Safety.IDEMPOTENT,
        )
        return FetchedToken(data["access_token"], float(data.get("expires_in", 7200)))


@dataclass
class _Cached:
    token: str
    refresh_at: float


class InMemoryTokenProvider:
    """Thread-safe token cache with one lock per appid.

    ``get_token`` is double-checked: readers of a fresh token take no lock, and when the
    token is due, threads queue on the appid's lock and all but the first find the cache
    already renewed -- 50 threads at expiry cause one fetch. A token is renewed ``margin``
    seconds before it expires (at most half its lifetime, for short-lived tokens).
    """

    def __init__(
        self, fetcher: TokenFetcher, *, clock: Clock = time.time, margin: float = 300.0
    ) -> None:
        self._fetcher = fetcher
        self._clock = clock
        self._margin = margin
        self._cache: dict[str, _Cached] = {}
        self._locks: dict[str, threading.Lock] = {}
        self._locks_guard = threading.Lock()

    def _lock_for(self, appid: str) -> threading.Lock:
        with self._locks_guard:
            return self._locks.setdefault(appid, threading.Lock())

    def _fresh(self, appid: str) -> str | None:
        cached = self._cache.get(appid)
        if cached is not None and self._clock() < cached.refresh_at:
            return cached.token
        return None

    def _store(self, appid: str, fetched: FetchedToken) -> str:
        lead = min(self._margin, fetched.expires_in / 2)
        self._cache[appid] = _Cached(fetched.token, self._clock() + fetched.expires_in - lead)
        return fetched.token

    def get_token(self, appid: str) -> str:
        token = self._fresh(appid)
        if token is not None:
            return token
        with self._lock_for(appid):
            token = self._fresh(appid)
            if token is not None:
                return token
            return self._store(appid, self._fetcher.fetch(appid))

    def refresh_token(self, appid: str, stale: str | None) -> str:
        with self._lock_for(appid):
            cached = self._cache.get(appid)
            if stale is not None and cached is not None and cached.token != stale:
                # Someone refreshed while our call was in flight: use theirs.
                return cached.token
            fetched = self._fetcher.fetch(appid)
            if stale is not None and fetched.token == stale:
                # stable_token hands back the same token while it thinks it is valid; the
                # platform just said otherwise, so ask for a new one explicitly.
                fetched = self._fetcher.fetch(appid, force=True)
            return self._store(appid, fetched)

    def prime(self, appid: str, token: str, expires_in: float) -> None:
        """Seed the cache with a token obtained elsewhere (e.g. from ``query_auth``)."""
        with self._lock_for(appid):
            self._store(appid, FetchedToken(token, expires_in))

    def invalidate(self, appid: str) -> None:
        with self._lock_for(appid):
            self._cache.pop(appid, None)
