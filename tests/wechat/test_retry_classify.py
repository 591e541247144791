"""Transient or final, decided once: ``classify`` and ``is_transient`` read the same table
the client's own retry loop does, so a task never retries what the client gave up on as
final, nor gives up on what the client would have tried again."""

from __future__ import annotations

import pytest

from tests.wechat.test_retry_policy import PERSISTENT_FAILURES, call, make
from wechat import errors
from wechat.client import RETRY_TABLE, Action, Outcome, Safety, classify, is_transient
from wechat.client.retry import OUTCOME_BY_ERRCODE


@pytest.mark.parametrize("safety", list(Safety))
@pytest.mark.parametrize("errcode", [*OUTCOME_BY_ERRCODE, 45009, 43004, 0])
def test_an_errcode_is_transient_exactly_where_the_table_retries(errcode: int,
                                                                 safety: Safety) -> None:
    action = RETRY_TABLE.get((OUTCOME_BY_ERRCODE.get(errcode, Outcome.OTHER), safety))
    expected = action in (Action.BACK_OFF, Action.REFRESH_TOKEN, Action.WAIT_THEN_RETRY)
    assert is_transient(errcode, safety) is expected
    assert is_transient(errors.error_for(errcode, "", "/x"), safety) is expected


@pytest.mark.parametrize(("failure", "outcome"), [
    (errors.TransportError("connection refused", maybe_sent=False), Outcome.NOT_SENT),
    (errors.TransportError("read timed out"), Outcome.MAYBE_SENT),
    (errors.BusyError(-1, "system busy"), Outcome.BUSY),
    (errors.RateLimited(45011, "freq"), Outcome.RATE_LIMITED),
    (errors.DailyLimitReached(45009, "daily"), Outcome.OTHER),
    (errors.TokenError(40001, "invalid credential"), Outcome.TOKEN_REJECTED),
    (errors.ClientMsgIdExists(45065, "sent"), Outcome.ALREADY_SENT),
    (errors.RequestValidationError("too long"), Outcome.OTHER),
    (ValueError("a bug"), Outcome.OTHER),
], ids=lambda v: type(v).__name__ if isinstance(v, Exception) else str(v))
def test_classify_reads_the_errcode_or_whether_the_request_may_have_left(
    failure: Exception, outcome: Outcome
) -> None:
    assert classify(failure) is outcome


def test_a_send_that_may_have_arrived_is_final_but_a_read_is_not() -> None:
    timeout = errors.TransportError("read timed out")
    assert is_transient(timeout, Safety.UNSAFE) is False
    assert is_transient(timeout, Safety.IDEMPOTENT) is True
    assert is_transient(timeout, Safety.DEDUPED) is True


@pytest.mark.parametrize(("failure", "safety", "raised", "attempts"), PERSISTENT_FAILURES)
def test_the_client_retries_exactly_what_is_transient(
    failure: object, safety: Safety, raised: type[Exception], attempts: int
) -> None:
    transport, _session, _sleeps, tokens = make([failure] * 5)
    with pytest.raises(raised) as caught:
        call(transport, tokens, safety)
    # The client made more than one attempt if and only if a task may try again later.
    assert (attempts > 1) is is_transient(caught.value, safety)
