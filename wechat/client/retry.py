"""The retry policy: one table saying what to do after each kind of failure.

Each call declares how safe it is to repeat (``Safety``); each failed attempt is reduced to
an ``Outcome``. ``RETRY_TABLE[(outcome, safety)]`` gives the ``Action``. Pairs missing from
the table raise. The whole policy, written out:

=================  ============  ===============  ==============
outcome            IDEMPOTENT    DEDUPED (mass)   UNSAFE (sends)
=================  ============  ===============  ==============
TOKEN_REJECTED     refresh once  refresh once     refresh once
BUSY (-1)          back off      back off         back off
RATE_LIMITED       back off      back off         back off
NOT_SENT           back off      back off         back off
MAYBE_SENT         back off      back off         raise
RETRY_TOO_SOON     raise         wait a minute    raise
ALREADY_SENT       raise         succeed          raise
anything else      raise         raise            raise
=================  ============  ===============  ==============

Why these cells:

* Token errors (40001/40014/42001), -1 and 45011 are answers the platform gives *instead
  of* doing the work, so even a customer-service or template send may be repeated.
* NOT_SENT is a connection that never opened (refused, DNS, connect timeout): nothing can
  have been delivered.
* MAYBE_SENT is everything after the request may have left: read timeouts, resets, 5xx,
  unreadable JSON. Repeating a kf or template send then risks a follower getting the
  message twice, so UNSAFE calls raise and the caller (a task with a delivery row) decides.
* Mass sends always carry a ``clientmsgid``; the platform refuses a repeat within 24 h
  with 45065, so repeating is safe and 45065 on a retry means "the first one got through".
* The usual way a broadcast's answer goes missing is that the platform did the send and
  the answer was lost or late. The quick retry then meets 45066 ("same clientmsgid
  retried within a minute"), which proves nothing and carries no msg_id. So the client
  does what the platform asks: it waits the minute out (``too_soon_wait``, through the
  injected ``sleep``) and repeats the same request once more. 45065 with the msg_id then
  settles it as sent; a success means the first attempt had not gone through. Either
  way the batch is sent exactly once and its msg_id is known.
* 45009 (daily quota) is deliberately *not* retried: waiting seconds cannot help.

Backoff is exponential with full jitter and a cap (base 0.2 s, cap 2 s, 3 attempts in all
by default); a token refresh and the 45066 wait each give exactly one extra attempt and do
not use that budget. A limit that lasts longer than the backoff (45011 holds for the rest
of the platform's minute) is therefore raised after the third attempt, never looped on: the
caller's own schedule (a task retried later) decides when to come back.

The same table answers the question the portal's tasks ask once the client has given up:
is it worth trying this again later? ``classify`` turns a raised error into its
``Outcome`` and ``is_transient`` says yes exactly where the table would have retried
(back off, or refresh the token), so the client and its callers never disagree.
"""

from __future__ import annotations

import random
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum

from wechat.errors import TransportError, WeChatError


class Safety(StrEnum):
    """How safe a call is to repeat after the request may have reached the platform."""

    IDEMPOTENT = "idempotent"  # reads and set-style writes: repeating changes nothing
    DEDUPED = "deduped"  # mass sends: the platform refuses a repeated clientmsgid
    UNSAFE = "unsafe"  # kf/template sends, creations: a repeat may deliver twice


class Outcome(StrEnum):
    TOKEN_REJECTED = "token_rejected"  # noqa: S105
    BUSY = "busy"
    RATE_LIMITED = "rate_limited"
    ALREADY_SENT = "already_sent"
    NOT_SENT = "not_sent"
    MAYBE_SENT = "maybe_sent"
    RETRY_TOO_SOON = "retry_too_soon"  # 45066: the same clientmsgid again within a minute
    OTHER = "other"


class Action(StrEnum):
    REFRESH_TOKEN = "refresh_token"  # noqa: S105 - refresh through the provider (stale token), retry once
    BACK_OFF = "back_off"  # sleep with jitter, retry while attempts remain
    WAIT_THEN_RETRY = "wait_then_retry"  # sleep the platform's stated window, retry once
    SUCCEED = "succeed"  # the work is already done: return the answer as a success
    RAISE = "raise"


# Which errcodes mean something for retrying; every other errcode is Outcome.OTHER.
OUTCOME_BY_ERRCODE: Mapping[int, Outcome] = {
    40001: Outcome.TOKEN_REJECTED,
    40014: Outcome.TOKEN_REJECTED,
    42001: Outcome.TOKEN_REJECTED,
    -1: Outcome.BUSY,
    45011: Outcome.RATE_LIMITED,
    45065: Outcome.ALREADY_SENT,
    45066: Outcome.RETRY_TOO_SOON,
}

_ALL = tuple(Safety)

RETRY_TABLE: Mapping[tuple[Outcome, Safety], Action] = {
    **{(Outcome.TOKEN_REJECTED, s): Action.REFRESH_TOKEN for s in _ALL},
    **{(Outcome.BUSY, s): Action.BACK_OFF for s in _ALL},
    **{(Outcome.RATE_LIMITED, s): Action.BACK_OFF for s in _ALL},
    **{(Outcome.NOT_SENT, s): Action.BACK_OFF for s in _ALL},
    (Outcome.MAYBE_SENT, Safety.IDEMPOTENT): Action.BACK_OFF,
    (Outcome.MAYBE_SENT, Safety.DEDUPED): Action.BACK_OFF,
    (Outcome.MAYBE_SENT, Safety.UNSAFE): Action.RAISE,
    (Outcome.RETRY_TOO_SOON, Safety.DEDUPED): Action.WAIT_THEN_RETRY,
    (Outcome.ALREADY_SENT, Safety.DEDUPED): Action.SUCCEED,
}


def outcome_for_errcode(errcode: int) -> Outcome:
    return OUTCOME_BY_ERRCODE.get(errcode, Outcome.OTHER)


def classify(failure: BaseException) -> Outcome:
    """The outcome of a failed call: from the errcode of a ``WeChatError``, or from whether a
    ``TransportError``'s request may have left. Anything else (a refusal on our side, a
    bug) is ``OTHER``."""
    if isinstance(failure, TransportError):
        return Outcome.MAYBE_SENT if failure.maybe_sent else Outcome.NOT_SENT
    if isinstance(failure, WeChatError):
        return outcome_for_errcode(failure.errcode)
    return Outcome.OTHER


@dataclass(frozen=True)
class RetryPolicy:
    """The table plus the numbers that bound it."""

    table: Mapping[tuple[Outcome, Safety], Action] = field(default_factory=lambda: RETRY_TABLE)
    max_attempts: int = 3  # attempts in all for BACK_OFF outcomes
    base_delay: float = 0.2
    max_delay: float = 2.0
    token_refreshes: int = 1  # extra attempts after a token refresh, outside max_attempts
    # 45066 says "within one minute"; a second more keeps clear of the platform's rounding.
    too_soon_wait: float = 61.0
    too_soon_retries: int = 1  # extra attempts after that wait, outside max_attempts

    def action(self, outcome: Outcome, safety: Safety) -> Action:
        return self.table.get((outcome, safety), Action.RAISE)

    def backoff(self, retry_number: int, rng: random.Random) -> float:
        """Delay before retry ``retry_number`` (1-based): full jitter under a capped ceiling.

        Full jitter spreads workers that failed together (a -1 burst hits everybody at once)
        instead of having them retry in lockstep.
        """
        ceiling = min(self.max_delay, self.base_delay * (2 ** (retry_number - 1)))
        return rng.uniform(0, ceiling)


DEFAULT_POLICY = RetryPolicy()
NO_RETRY = RetryPolicy(max_attempts=1, token_refreshes=0, too_soon_retries=0)

_RETRIED = frozenset({Action.BACK_OFF, Action.REFRESH_TOKEN, Action.WAIT_THEN_RETRY})


def is_transient(
    failure: BaseException | int, safety: Safety, *, policy: RetryPolicy = DEFAULT_POLICY
) -> bool:
    """Whether a call of this ``safety`` that failed so (an error, or a bare errcode) may be
    made again later: true exactly where the table backs off, refreshes the token or waits.

    The client asks the table between its own attempts; a task asks this after the client
    has given up, before it schedules another go. False means the answer is final (or, for
    an UNSAFE call that may have gone through, that repeating it could deliver twice). A
    mass send that still ends in 45066 is transient: repeat it with the same clientmsgid
    no sooner than ``policy.too_soon_wait`` seconds later.
    """
    outcome = outcome_for_errcode(failure) if isinstance(failure, int) else classify(failure)
    return policy.action(outcome, safety) in _RETRIED
