"""Token fetches are counted per account and Beijing day, with a warning near the quota."""

from __future__ import annotations

import logging
from datetime import datetime

import pytest
from django.core.cache import cache

from accounts.tokens import BEIJING, CacheTokenProvider, beijing_day, token_calls_today
from wechat.client import Transport
from wechat.errors import ConfigurationError
from wechat.sandbox.server import SandboxServer
from wechat.tokens import StableTokenFetcher

LATE = datetime(2026, 3, 1, 23, 59, 30, tzinfo=BEIJING).timestamp()


class Clock:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def _provider(sb: SandboxServer, account: dict, clock: Clock, secret: str | None = None):
    transport = Transport(sb.base_url)
    secrets = {account["appid"]: secret or account["secret"]}
    return CacheTokenProvider(StableTokenFetcher(transport, secrets), clock=clock)


def test_each_fetch_counts_once_and_reads_do_not(portal_sandbox: SandboxServer) -> None:
    account = portal_sandbox.control("POST", "/accounts", {})
    appid = account["appid"]
    provider = _provider(portal_sandbox, account, Clock(LATE))
    assert token_calls_today(appid, now=LATE) == 0
    provider.get_token(appid)
    provider.get_token(appid)
    provider.refresh_token(appid, None)
    assert token_calls_today(appid, now=LATE) == 2


def test_the_counter_starts_again_at_midnight_beijing_time(portal_sandbox: SandboxServer) -> None:
    account = portal_sandbox.control("POST", "/accounts", {})
    appid, clock = account["appid"], Clock(LATE)
    provider = _provider(portal_sandbox, account, clock)
    provider.get_token(appid)
    clock.now = LATE + 60  # 00:00:30 the next day in Beijing, still the 1st in UTC
    provider.refresh_token(appid, None)
    assert beijing_day(LATE) == "20260301" and beijing_day(clock.now) == "20260302"
    assert token_calls_today(appid, now=LATE) == 1
    assert token_calls_today(appid, now=clock.now) == 1


def test_failed_fetches_count_too(portal_sandbox: SandboxServer) -> None:
    account = portal_sandbox.control("POST", "/accounts", {})
    appid = account["appid"]
    provider = _provider(portal_sandbox, account, Clock(LATE), secret="wrong")
    with pytest.raises(ConfigurationError):
        provider.get_token(appid)
    assert token_calls_today(appid, now=LATE) == 1


def test_it_warns_above_eighty_percent_of_the_daily_quota(
    portal_sandbox: SandboxServer, caplog: pytest.LogCaptureFixture
) -> None:
    account = portal_sandbox.control("POST", "/accounts", {})
    appid = account["appid"]
    provider = _provider(portal_sandbox, account, Clock(LATE))
    cache.set(f"wechat:token_calls:{appid}:20260301", 1599, timeout=60)
    with caplog.at_level(logging.WARNING, logger="accounts.tokens"):
        provider.get_token(appid)
        assert not caplog.records
        provider.refresh_token(appid, None)
    assert token_calls_today(appid, now=LATE) == 1601
    assert "1601 of its 2000 daily token calls" in caplog.text
