"""The slow part of a delivery (the follower's profile) reads the same retry table as the
client: a busy platform is tried again, the day's quota used up is final."""

from __future__ import annotations

import pytest

from followers.models import Follower
from messaging.models import Inbound
from messaging.processing import transient
from tests.messaging.ingest_support import deliver, text
from tests.messaging.reply_support import Wired, wired  # noqa: F401 - fixture
from wechat import errors

pytestmark = pytest.mark.django_db

USER_INFO = "/cgi-bin/user/info"


def _profile_calls(wired: Wired) -> list[int | None]:  # noqa: F811
    calls = wired.sandbox.control("GET", "/calls", query={"appid": wired.appid,
                                                          "path": USER_INFO})["calls"]
    return [call["errcode"] for call in calls]


def _a_message_arrives(wired: Wired) -> Inbound:  # noqa: F811
    Follower.objects.filter(pk=wired.follower.pk).update(profile_fetched_at=None)
    deliver(wired.account, text(wired.account, wired.follower.openid, "Any rooms tonight?"))
    return Inbound.objects.filter(account=wired.account).latest("pk")


def test_a_busy_profile_fetch_is_tried_again_and_the_profile_arrives(wired: Wired) -> None:  # noqa: F811
    wired.sandbox.control("POST", "/faults", {"kind": "busy", "path": USER_INFO,
                                              "appid": wired.appid, "count": 3})
    inbound = _a_message_arrives(wired)
    assert inbound.processed_at is not None
    assert _profile_calls(wired) == [-1, -1, -1, 0]
    wired.follower.refresh_from_db()
    assert wired.follower.profile_fetched_at is not None


def test_the_days_quota_used_up_is_final_not_retried(wired: Wired) -> None:  # noqa: F811
    wired.sandbox.control("PATCH", f"/accounts/{wired.appid}", {"quotas": {USER_INFO: 0}})
    inbound = _a_message_arrives(wired)
    # Processed (the message is kept; the profile waits for the follower's next message),
    # after one call: waiting seconds cannot bring tomorrow's quota.
    assert inbound.processed_at is not None and inbound.attempts == 1
    assert _profile_calls(wired) == [45009]
    wired.follower.refresh_from_db()
    assert wired.follower.profile_fetched_at is None


@pytest.mark.parametrize(("error", "expected"), [
    (errors.BusyError(-1, "system busy"), True),
    (errors.RateLimited(45011, "api freq out of limit"), True),
    (errors.TokenError(42001, "access_token expired"), True),
    (errors.TransportError("read timed out"), True),
    (errors.DailyLimitReached(45009, "reach max api daily quota limit"), False),
    (errors.InvalidOpenid(40003, "invalid openid"), False),
], ids=lambda value: type(value).__name__ if isinstance(value, Exception) else str(value))
def test_what_processing_retries_is_the_tables_answer_for_reads(error: Exception,
                                                               expected: bool) -> None:
    assert transient(error) is expected
