"""InMemoryTokenProvider: one fetch per expiry however many threads ask, stale-aware refresh."""

from __future__ import annotations

import threading
import time

import pytest

from tests.wechat.fake_http import FakeSession, ok
from wechat.client.transport import Transport
from wechat.tokens import (
    ClassicTokenFetcher,
    FetchedToken,
    InMemoryTokenProvider,
    StableTokenFetcher,
)


class FakeClock:
    def __init__(self, now: float = 1_700_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


class CountingFetcher:
    """Issues tok-1, tok-2...; slow enough that racing threads overlap inside a fetch."""

    def __init__(self, delay: float = 0.0, expires_in: float = 7200) -> None:
        self.delay = delay
        self.expires_in = expires_in
        self.calls: list[tuple[str, bool]] = []
        self._lock = threading.Lock()

    def fetch(self, appid: str, *, force: bool = False) -> FetchedToken:
        with self._lock:
            self.calls.append((appid, force))
            n = len(self.calls)
        time.sleep(self.delay)
        return FetchedToken(f"tok-{n}", self.expires_in)


def run_threads(n: int, target) -> list[str]:
    barrier = threading.Barrier(n)
    results: list[str] = []
    lock = threading.Lock()

    def worker() -> None:
        barrier.wait()
        value = target()
        with lock:
            results.append(value)

    threads = [threading.Thread(target=worker) for _ in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    return results


def test_fifty_threads_at_expiry_cause_exactly_one_fetch() -> None:
    clock = FakeClock()
    fetcher = CountingFetcher(delay=0.05)
    provider = InMemoryTokenProvider(fetcher, clock=clock, margin=300)
    assert provider.get_token("wxa") == "tok-1"

    clock.now += 7200 - 300  # the refresh margin is reached
    results = run_threads(50, lambda: provider.get_token("wxa"))

    assert len(fetcher.calls) == 2
    assert results == ["tok-2"] * 50


def test_fifty_threads_refreshing_the_same_stale_token_cause_one_fetch() -> None:
    fetcher = CountingFetcher(delay=0.05)
    provider = InMemoryTokenProvider(fetcher, clock=FakeClock())
    stale = provider.get_token("wxa")

    results = run_threads(50, lambda: provider.refresh_token("wxa", stale))

    assert len(fetcher.calls) == 2
    assert set(results) == {"tok-2"}


def test_refresh_with_an_already_replaced_token_returns_the_cached_one() -> None:
    fetcher = CountingFetcher()
    provider = InMemoryTokenProvider(fetcher, clock=FakeClock())
    provider.get_token("wxa")
    provider.refresh_token("wxa", "tok-1")
    assert provider.refresh_token("wxa", "tok-1") == "tok-2"
    assert len(fetcher.calls) == 2


def test_refresh_without_a_stale_token_always_refetches() -> None:
    fetcher = CountingFetcher()
    provider = InMemoryTokenProvider(fetcher, clock=FakeClock())
    provider.get_token("wxa")
    assert provider.refresh_token("wxa", None) == "tok-2"


def test_apps_have_separate_tokens_and_locks() -> None:
    fetcher = CountingFetcher()
    provider = InMemoryTokenProvider(fetcher, clock=FakeClock())
    assert provider.get_token("wxa") != provider.get_token("wxb")
    assert [c[0] for c in fetcher.calls] == ["wxa", "wxb"]


def test_token_is_reused_until_the_margin_then_renewed() -> None:
    clock = FakeClock()
    fetcher = CountingFetcher()
    provider = InMemoryTokenProvider(fetcher, clock=clock, margin=300)
    provider.get_token("wxa")
    clock.now += 7200 - 301
    assert provider.get_token("wxa") == "tok-1"
    clock.now += 1
    assert provider.get_token("wxa") == "tok-2"


def test_short_lived_tokens_are_renewed_at_half_life_not_immediately() -> None:
    clock = FakeClock()
    fetcher = CountingFetcher(expires_in=200)
    provider = InMemoryTokenProvider(fetcher, clock=clock, margin=300)
    provider.get_token("wxa")
    clock.now += 99
    assert provider.get_token("wxa") == "tok-1"
    clock.now += 1
    assert provider.get_token("wxa") == "tok-2"


def test_refresh_forces_a_new_token_when_the_platform_hands_back_the_stale_one() -> None:
    class SameThenNew:
        def __init__(self) -> None:
            self.calls: list[bool] = []

        def fetch(self, appid: str, *, force: bool = False) -> FetchedToken:
            self.calls.append(force)
            return FetchedToken("new" if force else "same", 7200)

    fetcher = SameThenNew()
    provider = InMemoryTokenProvider(fetcher, clock=FakeClock())
    assert provider.get_token("wxa") == "same"
    assert provider.refresh_token("wxa", "same") == "new"
    assert fetcher.calls == [False, False, True]


def test_prime_and_invalidate() -> None:
    fetcher = CountingFetcher()
    provider = InMemoryTokenProvider(fetcher, clock=FakeClock())
    provider.prime("wxa", "given", 7200)
    assert provider.get_token("wxa") == "given"
    provider.invalidate("wxa")
    assert provider.get_token("wxa") == "tok-1"


@pytest.mark.parametrize("force", [False, True])
def test_stable_fetcher_posts_the_documented_body(force: bool) -> None:
    session = FakeSession([ok(access_token="T", expires_in=7000)])
    transport = Transport("http://wx.test", session=session)  # type: ignore[arg-type]
    fetched = StableTokenFetcher(transport, {"wxa": "s3cret"}).fetch("wxa", force=force)
    assert fetched == FetchedToken("T", 7000.0)
    assert session.paths() == ["cgi-bin/stable_token"]
    assert session.sent[0].json == {
        "grant_type": "client_credential",
        "appid": "wxa",
        "secret": "s3cret",
        "force_refresh": force,
    }


def test_classic_fetcher_uses_the_query_string_and_a_secret_callable() -> None:
    session = FakeSession([ok(access_token="T", expires_in=7200)])
    transport = Transport("http://wx.test", session=session)  # type: ignore[arg-type]
    fetched = ClassicTokenFetcher(transport, lambda appid: "sec-" + appid).fetch("wxa")
    assert fetched.token == "T"
    assert session.sent[0].method == "GET"
    assert session.sent[0].params == {
        "grant_type": "client_credential",
        "appid": "wxa",
        "secret": "sec-wxa",
    }
    assert "access_token" not in session.sent[0].params
