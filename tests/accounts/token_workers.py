"""Code run in child processes by the token tests (spawned, so importable by name)."""

from __future__ import annotations

import os
from typing import Any


def ask_for_token_when_told(
    base_url: str, appid: str, secret: str, ready: Any, go: Any, results: Any
) -> None:
    """Boot Django like a worker (its own cache client), then ask for a token on ``go``."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django

    django.setup()
    from accounts.tokens import CacheTokenProvider
    from wechat.client import Transport
    from wechat.tokens import StableTokenFetcher

    provider = CacheTokenProvider(StableTokenFetcher(Transport(base_url), {appid: secret}))
    provider.peek(appid)  # connect to Redis before the race starts
    ready.put(os.getpid())
    if not go.wait(60):
        results.put("timeout")
        return
    try:
        results.put(provider.get_token(appid))
    except Exception as exc:  # reported to the parent, which fails the test
        results.put(f"error: {exc!r}")
