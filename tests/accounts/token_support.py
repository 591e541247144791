"""Helpers for the token tests: sandbox twins of portal accounts, counters, time travel."""

from __future__ import annotations

from typing import Any

from django.core.cache import cache

from accounts.models import OfficialAccount
from accounts.tokens import token_cache_key
from wechat.sandbox.server import SandboxServer


def twin(sb: SandboxServer, account: OfficialAccount, **spec: Any) -> dict[str, Any]:
    """The sandbox's copy of a direct account (same AppID and AppSecret)."""
    return sb.control("POST", "/accounts", {
        "appid": account.appid, "secret": account.app_secret, "kind": "service",
        "verified": True, **spec,
    })


def counter(sb: SandboxServer, name: str, key: str) -> int:
    return int(sb.control("GET", "/counters").get(name, {}).get(key, 0))


def token_calls(sb: SandboxServer, appid: str, path: str = "/cgi-bin/stable_token") -> int:
    """Token requests that reached the sandbox for an appid, failed ones included."""
    return len(sb.control("GET", "/calls", query={"appid": appid, "path": path})["calls"])


def travel(
    sb: SandboxServer, seconds: float, *appids: str, components: tuple[str, ...] = ()
) -> None:
    """Move time forward for the sandbox and for the cached tokens of ``appids`` (and of
    the platforms ``components``) alike.

    The portal's cache keeps wall-clock instants, so those are shifted back instead.
    """
    sb.control("POST", "/clock", {"advance": seconds})
    keys = [token_cache_key(a) for a in appids]
    keys += [token_cache_key(c, "component") for c in components]
    for key in keys:
        entry = cache.get(key)
        if entry is None:
            continue
        for field in ("fetched_at", "refresh_at", "expires_at"):
            entry[field] -= seconds
        cache.set(key, entry, timeout=None)
