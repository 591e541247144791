"""The retry table, driven through a scripted session: each answer -> behaviour and attempts."""

from __future__ import annotations

import random
import re

import pytest
import requests

from tests.wechat.fake_http import (
    FakeSession,
    Reply,
    Sleeps,
    StaticTokens,
    connect_refused,
    err,
    ok,
)
from wechat import errors
from wechat.client import (
    DEFAULT_POLICY,
    NO_RETRY,
    RETRY_TABLE,
    Action,
    Outcome,
    RetryPolicy,
    Safety,
)
from wechat.client import retry as retry_module
from wechat.client.transport import ProviderTokenSource, Transport


def make(script: list, policy: RetryPolicy = DEFAULT_POLICY):
    session = FakeSession(list(script))
    sleeps = Sleeps()
    tokens = StaticTokens()
    transport = Transport(
        "http://wx.test",
        session=session,  # type: ignore[arg-type]
        sleep=sleeps,
        retry_policy=policy,
        rng=random.Random(1),
    )
    return transport, session, sleeps, tokens


def call(transport: Transport, tokens: StaticTokens, safety: Safety) -> dict:
    return transport.call(
        "POST",
        "/cgi-bin/x",
        body={"a": 1},
        safety=safety,
        token=ProviderTokenSource(tokens, "wxapp"),
    )


READ_TIMEOUT = requests.ReadTimeout("read timed out")
RESET = requests.ConnectionError("Connection aborted.", ConnectionResetError(104))
HTTP_500 = Reply(b"<html>oops</html>", status=500, content_type="text/html")
HTTP_502 = Reply(b"bad gateway", status=502, content_type="text/plain")
NOT_JSON = Reply(b"<html>200 but html</html>", status=200, content_type="text/html")

# (first failure, safety, error raised when it keeps failing, attempts made)
PERSISTENT_FAILURES = [
    (err(-1), Safety.IDEMPOTENT, errors.BusyError, 3),
    (err(-1), Safety.UNSAFE, errors.BusyError, 3),
    (err(45011), Safety.UNSAFE, errors.RateLimited, 3),
    (err(45011), Safety.DEDUPED, errors.RateLimited, 3),
    (connect_refused(), Safety.UNSAFE, errors.TransportError, 3),
    (requests.ConnectTimeout("connect timed out"), Safety.UNSAFE, errors.TransportError, 3),
    (READ_TIMEOUT, Safety.IDEMPOTENT, errors.TransportError, 3),
    (READ_TIMEOUT, Safety.DEDUPED, errors.TransportError, 3),
    (READ_TIMEOUT, Safety.UNSAFE, errors.TransportError, 1),
    (RESET, Safety.UNSAFE, errors.TransportError, 1),
    (HTTP_500, Safety.IDEMPOTENT, errors.TransportError, 3),
    (HTTP_500, Safety.UNSAFE, errors.TransportError, 1),
    (HTTP_502, Safety.UNSAFE, errors.TransportError, 1),
    (NOT_JSON, Safety.UNSAFE, errors.TransportError, 1),
    (NOT_JSON, Safety.IDEMPOTENT, errors.TransportError, 3),
    (err(45009), Safety.IDEMPOTENT, errors.DailyLimitReached, 1),
    (err(45015), Safety.UNSAFE, errors.OutsideWindow, 1),
    (err(45047), Safety.UNSAFE, errors.SendLimitReached, 1),
    (err(43004), Safety.UNSAFE, errors.NotFollowing, 1),
    (err(40003), Safety.UNSAFE, errors.InvalidOpenid, 1),
    (err(45028), Safety.DEDUPED, errors.QuotaExhausted, 1),
    (err(45065), Safety.UNSAFE, errors.ClientMsgIdExists, 1),
    # 45066 twice: the client waited the minute out once, then leaves it to the caller.
    (err(45066), Safety.DEDUPED, errors.ClientMsgIdRetryTooSoon, 2),
    (err(45066), Safety.UNSAFE, errors.ClientMsgIdRetryTooSoon, 1),
    (err(40164), Safety.IDEMPOTENT, errors.IpNotWhitelisted, 1),
    (err(48001), Safety.IDEMPOTENT, errors.ApiUnauthorized, 1),
    (err(61023), Safety.IDEMPOTENT, errors.RefreshTokenInvalid, 1),
    (err(99999), Safety.IDEMPOTENT, errors.WeChatError, 1),
]


@pytest.mark.parametrize(("failure", "safety", "raised", "attempts"), PERSISTENT_FAILURES)
def test_persistent_failure_raises_after_the_tables_attempts(
    failure: object, safety: Safety, raised: type[Exception], attempts: int
) -> None:
    transport, session, sleeps, tokens = make([failure] * 5)
    with pytest.raises(raised):
        call(transport, tokens, safety)
    assert len(session.sent) == attempts
    assert len(sleeps) == attempts - 1
    assert tokens.refreshes == []


@pytest.mark.parametrize(
    ("failure", "safety"),
    [
        (err(-1), Safety.UNSAFE),
        (err(45011), Safety.IDEMPOTENT),
        (connect_refused(), Safety.UNSAFE),
        (READ_TIMEOUT, Safety.DEDUPED),
        (HTTP_500, Safety.IDEMPOTENT),
    ],
)
def test_transient_failure_then_success_returns_the_answer(failure: object, safety: Safety) -> None:
    transport, session, sleeps, tokens = make([failure, failure, ok(value=7)])
    assert call(transport, tokens, safety)["value"] == 7
    assert len(session.sent) == 3
    assert len(sleeps) == 2


@pytest.mark.parametrize("code", [40001, 40014, 42001])
@pytest.mark.parametrize("safety", list(Safety))
def test_token_error_refreshes_with_the_stale_token_and_retries_once(
    code: int, safety: Safety
) -> None:
    transport, session, sleeps, tokens = make([err(code), ok()])
    call(transport, tokens, safety)
    assert tokens.refreshes == ["tok-1"]
    assert [s.params["access_token"] for s in session.sent] == ["tok-1", "tok-2"]
    assert sleeps == []


def test_a_second_token_error_is_raised_not_refreshed_again() -> None:
    transport, session, _, tokens = make([err(40001), err(42001), ok()])
    with pytest.raises(errors.TokenError):
        call(transport, tokens, Safety.IDEMPOTENT)
    assert len(session.sent) == 2
    assert tokens.refreshes == ["tok-1"]


def test_token_refresh_does_not_spend_the_backoff_budget() -> None:
    transport, session, sleeps, tokens = make([err(-1), err(40001), err(-1), ok()])
    call(transport, tokens, Safety.IDEMPOTENT)
    assert len(session.sent) == 4
    assert len(sleeps) == 2


def test_a_token_error_without_a_token_source_is_raised() -> None:
    # A token fetch itself answering 40001 means a wrong secret: nothing to refresh.
    transport, session, _, _ = make([err(40001), ok()])
    with pytest.raises(errors.TokenError):
        transport.call("GET", "/cgi-bin/token", safety=Safety.IDEMPOTENT)
    assert len(session.sent) == 1


def test_already_sent_on_a_deduplicated_call_is_a_success() -> None:
    answer = {"errcode": 45065, "errmsg": "clientmsgid exist", "msg_id": 1000001}
    transport, session, _, tokens = make([READ_TIMEOUT, answer])
    result = call(transport, tokens, Safety.DEDUPED)
    assert result["msg_id"] == 1000001
    assert len(session.sent) == 2


def test_a_lost_answer_then_45066_waits_the_minute_out_and_takes_45065_as_the_send() -> None:
    # The send went through but its answer was lost; the quick retry meets 45066 (no
    # msg_id, no proof). The client waits out the minute and asks again: 45065 with the
    # first send's msg_id settles it.
    already = {"errcode": 45065, "errmsg": "clientmsgid exist", "msg_id": 1000007}
    transport, session, sleeps, tokens = make([READ_TIMEOUT, err(45066), already])
    result = call(transport, tokens, Safety.DEDUPED)
    assert (result["errcode"], result["msg_id"]) == (45065, 1000007)
    assert len(session.sent) == 3
    assert [s.json for s in session.sent] == [{"a": 1}] * 3  # the same request each time
    assert sleeps[-1] == DEFAULT_POLICY.too_soon_wait >= 60
    assert len(sleeps) == 2  # one backoff after the timeout, one wait for the minute


def test_the_minute_wait_does_not_spend_the_backoff_budget() -> None:
    transport, session, sleeps, tokens = make(
        [READ_TIMEOUT, err(45066), err(-1), ok(msg_id=5)])
    assert call(transport, tokens, Safety.DEDUPED)["msg_id"] == 5
    assert len(session.sent) == 4
    assert len(sleeps) == 3


def test_without_the_wait_45066_is_raised_for_the_caller_to_repeat_later() -> None:
    transport, session, sleeps, tokens = make([err(45066), ok()], NO_RETRY)
    with pytest.raises(errors.ClientMsgIdRetryTooSoon):
        call(transport, tokens, Safety.DEDUPED)
    assert len(session.sent) == 1 and sleeps == []


def test_backoff_grows_with_full_jitter_under_the_cap() -> None:
    policy = RetryPolicy(max_attempts=8, base_delay=0.2, max_delay=2.0)
    transport, session, sleeps, tokens = make([err(-1)] * 8, policy)
    with pytest.raises(errors.BusyError):
        call(transport, tokens, Safety.IDEMPOTENT)
    assert len(sleeps) == 7
    ceilings = [min(2.0, 0.2 * 2**n) for n in range(7)]
    assert all(0 <= s <= c for s, c in zip(sleeps, ceilings, strict=True))
    assert len(set(sleeps)) == 7  # jittered, not lockstep


def test_the_documented_table_is_the_table_in_force() -> None:
    doc = retry_module.__doc__ or ""
    words = {
        "refresh once": Action.REFRESH_TOKEN,
        "back off": Action.BACK_OFF,
        "raise": Action.RAISE,
        "succeed": Action.SUCCEED,
        "wait a minute": Action.WAIT_THEN_RETRY,
    }
    columns = [Safety.IDEMPOTENT, Safety.DEDUPED, Safety.UNSAFE]
    documented = {}
    for outcome in Outcome:
        if outcome is Outcome.OTHER:
            continue
        line = next(ln for ln in doc.splitlines() if ln.startswith(outcome.name))
        cells = re.split(r"\s{2,}", line.strip())[1:]
        for safety, cell in zip(columns, cells, strict=True):
            documented[(outcome, safety)] = words[cell]
    for key, action in documented.items():
        assert DEFAULT_POLICY.action(*key) is action, key
    assert {k for k, v in RETRY_TABLE.items() if v is not Action.RAISE} <= set(documented)


def test_requests_carry_timeouts_and_utf8_json_without_escapes() -> None:
    transport, session, _, tokens = make([ok()])
    transport.call(
        "POST",
        "/cgi-bin/x",
        body={"content": "你好 TC"},
        safety=Safety.UNSAFE,
        token=ProviderTokenSource(tokens, "wxapp"),
    )
    sent = session.sent[0]
    assert sent.timeout == (3.05, 10.0)
    assert "你好".encode() in sent.data
    assert b"\\u" not in sent.data
    assert sent.headers["Content-Type"] == "application/json; charset=utf-8"


def test_error_carries_code_message_path_and_a_reason_for_people() -> None:
    transport, _, _, tokens = make([err(45015, "response out of time limit")])
    with pytest.raises(errors.OutsideWindow) as caught:
        call(transport, tokens, Safety.UNSAFE)
    assert caught.value.errcode == 45015
    assert caught.value.path == "/cgi-bin/x"
    assert caught.value.reason == "outside the 48-hour window: the follower must write first"
    assert "45015" in str(caught.value)


def test_every_errcode_in_the_table_maps_to_a_wechat_error_with_a_reason() -> None:
    for code, (cls, reason) in errors.ERRORS.items():
        error = errors.error_for(code, "m", "/p")
        assert type(error) is cls
        assert error.reason == reason and reason
    assert type(errors.error_for(12345, "m")) is errors.WeChatError
