"""Many threads or processes asking for a token as it expires cause one platform call."""

from __future__ import annotations

import multiprocessing
import threading
from collections.abc import Callable

import pytest
from django.core.cache import cache

from accounts.tokens import CacheTokenProvider
from accounts.wechat_clients import shared_session
from tests.accounts.token_support import token_calls, travel
from tests.accounts.token_workers import ask_for_token_when_told
from wechat.client import Transport
from wechat.sandbox.server import SandboxServer
from wechat.tokens import StableTokenFetcher

# serial: 50 threads and 6 processes race for one Redis lock, whose hold times a second
# test process on the 2 cores can stretch.
pytestmark = pytest.mark.serial


def _provider(sb: SandboxServer, account: dict) -> CacheTokenProvider:
    transport = Transport(sb.base_url, session=shared_session())
    return CacheTokenProvider(StableTokenFetcher(transport, {account["appid"]: account["secret"]}))


def _at_once(n: int, work: Callable[[], str]) -> list[str]:
    barrier = threading.Barrier(n)
    results: list[str] = []
    errors: list[BaseException] = []
    guard = threading.Lock()

    def run() -> None:
        barrier.wait()
        try:
            token = work()
        except BaseException as exc:  # noqa: BLE001 - surfaced below
            with guard:
                errors.append(exc)
            return
        with guard:
            results.append(token)

    threads = [threading.Thread(target=run) for _ in range(n)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert not errors, errors
    return results


def test_fifty_threads_at_expiry_make_exactly_one_token_call(portal_sandbox: SandboxServer) -> None:
    sb = portal_sandbox
    account = sb.control("POST", "/accounts", {})
    appid = account["appid"]
    old = _provider(sb, account).get_token(appid)
    travel(sb, 7200, appid)  # the cached token and the platform's have both expired

    tokens = _at_once(50, lambda: _provider(sb, account).get_token(appid))

    assert token_calls(sb, appid) == 2
    assert len(tokens) == 50 and set(tokens) == {tokens[0]} and tokens[0] != old


def test_fifty_threads_at_the_refresh_point_renew_once_and_nobody_is_refused(
    portal_sandbox: SandboxServer,
) -> None:
    sb = portal_sandbox
    account = sb.control("POST", "/accounts", {})
    appid = account["appid"]
    old = _provider(sb, account).get_token(appid)
    travel(sb, 7200 - 100, appid)  # inside the 300 s margin, still valid for 100 s

    tokens = _at_once(50, lambda: _provider(sb, account).get_token(appid))

    new = _provider(sb, account).get_token(appid)
    assert new != old
    assert token_calls(sb, appid) == 2
    # The renewing thread got the new token; the others read the still valid old one.
    assert set(tokens) <= {old, new} and new in tokens


def test_worker_processes_at_expiry_make_exactly_one_token_call(
    portal_sandbox: SandboxServer,
) -> None:
    # Processes share tokens only through Redis: this test needs REDIS_URL (make test sets it).
    assert "redis" in type(cache._cache).__module__, "run the tests with REDIS_URL"  # noqa: SLF001
    sb = portal_sandbox
    account = sb.control("POST", "/accounts", {})
    appid = account["appid"]
    old = _provider(sb, account).get_token(appid)
    ctx = multiprocessing.get_context("spawn")
    ready, results, go = ctx.Queue(), ctx.Queue(), ctx.Event()
    workers = [
        ctx.Process(
            target=ask_for_token_when_told,
            args=(sb.base_url, appid, account["secret"], ready, go, results),
        )
        for _ in range(6)
    ]
    for worker in workers:
        worker.start()
    try:
        for _ in workers:
            ready.get(timeout=60)
        travel(sb, 7200, appid)
        go.set()
        tokens = [results.get(timeout=60) for _ in workers]
    finally:
        for worker in workers:
            worker.join(30)
            if worker.is_alive():
                worker.kill()

    assert token_calls(sb, appid) == 2, tokens
    assert set(tokens) == {tokens[0]} and tokens[0] != old and tokens[0].startswith("86_")
