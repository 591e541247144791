"""The reply window (docs/wechat.md §4): 5 sends / 48 h after a message, 3 / 1 minute
after a follow, scan or click, none after VIEW; two open windows allow the larger quota,
not the sum (the rule of wechat.windows, shared with the sandbox)."""

from datetime import timedelta

import pytest
from django.utils import timezone, translation

from followers.models import Follower
from followers.services import follower_upsert
from followers.window import WindowClosed, window_consume, window_open, window_state
from tests.factories import make_account, make_brand
from tests.messaging.ingest_support import deliver, event, text
from wechat import windows

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _english():
    # Reasons are translated for the agent; these tests read the English ones.
    with translation.override("en"):
        yield


@pytest.fixture
def account():
    return make_account(brand=make_brand(), app_secret="")


@pytest.fixture
def follower(account):
    return follower_upsert(account=account, openid="oW", at=timezone.now(), lock=False)[0]


def _spend_all(follower, now):
    sent = 0
    while True:
        try:
            window_consume(follower=follower, now=now)
        except WindowClosed as closed:
            return sent, closed.reason
        sent += 1


def test_a_new_follower_has_no_window(follower):
    state = window_state(follower=follower, now=timezone.now())
    assert not state.open and state.sends_left == 0
    assert state.reason == "outside the 48-hour window"


def test_a_message_allows_five_sends_for_48_hours(follower):
    at = timezone.now()
    window_open(follower=follower, trigger="message", at=at)
    state = window_state(follower=follower, now=at + timedelta(hours=47, minutes=59))
    assert state.open and state.sends_left == 5 and state.kind == "long"
    assert state.expires_at == at + timedelta(hours=48)
    assert not window_state(follower=follower, now=at + timedelta(hours=48)).open
    assert _spend_all(follower, at + timedelta(hours=1)) == (
        5, "the follower's reply quota is used up until they write again")


@pytest.mark.parametrize("trigger", ["follow", "scan", "click"])
def test_a_follow_scan_or_click_allows_three_sends_for_a_minute(follower, trigger):
    at = timezone.now()
    window_open(follower=follower, trigger=trigger, at=at)
    state = window_state(follower=follower, now=at + timedelta(seconds=59))
    assert state.open and state.sends_left == 3 and state.kind == "short"
    assert not window_state(follower=follower, now=at + timedelta(seconds=60)).open
    assert _spend_all(follower, at + timedelta(seconds=10))[0] == 3


def test_two_open_windows_allow_the_larger_quota_not_the_sum(follower):
    at = timezone.now()
    window_open(follower=follower, trigger="message", at=at)
    window_open(follower=follower, trigger="click", at=at)
    assert window_state(follower=follower, now=at).sends_left == 5
    for _ in range(3):
        window_consume(follower=follower, now=at)
    follower.refresh_from_db()
    # Each send fell in both windows and counts against both.
    assert (follower.short_window_sends, follower.window_sends) == (3, 3)
    state = window_state(follower=follower, now=at)
    assert (state.kind, state.sends_left) == ("long", 2)
    assert _spend_all(follower, at) == (
        2, "the follower's reply quota is used up until they write again")


def test_a_click_after_the_long_quota_is_spent_opens_three_more(follower):
    at = timezone.now()
    window_open(follower=follower, trigger="message", at=at)
    _spend_all(follower, at)
    window_open(follower=follower, trigger="click", at=at + timedelta(seconds=1))
    assert _spend_all(follower, at + timedelta(seconds=2))[0] == 3


def test_the_portal_follows_the_shared_setting(follower, monkeypatch):
    # The same setting the sandbox reads (tests/wechat/test_client_kf_windows.py).
    monkeypatch.setattr(windows, "OPEN_WINDOWS_ADD_UP", True)
    at = timezone.now()
    window_open(follower=follower, trigger="message", at=at)
    window_open(follower=follower, trigger="click", at=at)
    assert window_state(follower=follower, now=at).sends_left == 8
    assert _spend_all(follower, at)[0] == 8
    follower.refresh_from_db()
    assert (follower.short_window_sends, follower.window_sends) == (3, 5)


def test_a_new_message_renews_the_window(follower):
    at = timezone.now()
    window_open(follower=follower, trigger="message", at=at)
    _spend_all(follower, at)
    window_open(follower=follower, trigger="message", at=at + timedelta(hours=1))
    assert window_state(follower=follower, now=at + timedelta(hours=2)).sends_left == 5


def test_a_late_older_delivery_never_moves_the_window_back(follower):
    at = timezone.now()
    window_open(follower=follower, trigger="message", at=at)
    window_consume(follower=follower, now=at)
    window_open(follower=follower, trigger="message", at=at - timedelta(minutes=5))
    follower.refresh_from_db()
    assert follower.window_opened_at == at and follower.window_sends == 1


def test_an_unfollowed_follower_has_no_window(follower):
    window_open(follower=follower, trigger="message", at=timezone.now())
    follower.subscribed = False
    state = window_state(follower=follower, now=timezone.now())
    assert not state.open and state.reason == "the follower has unfollowed"


def test_ingestion_opens_the_right_windows(account):
    deliver(account, event(account, "VIEW", "oV", EventKey="https://example.com"))
    deliver(account, event(account, "subscribe", "oF"))
    deliver(account, event(account, "SCAN", "oS", EventKey="booth"))
    deliver(account, event(account, "CLICK", "oC", EventKey="MENU"))
    deliver(account, event(account, "scancode_push", "oQ", EventKey="SCAN_BUTTON"))
    deliver(account, text(account, "oM"))
    deliver(account, event(account, "LOCATION", "oL", Latitude="1", Longitude="2"))
    now = timezone.now()
    states = {f.openid: window_state(follower=f, now=now) for f in Follower.objects.all()}
    assert "oV" not in states  # VIEW is kept in Inbound only and opens nothing
    assert {o: (s.open, s.sends_left, s.kind) for o, s in states.items()} == {
        "oF": (True, 3, "short"), "oS": (True, 3, "short"), "oC": (True, 3, "short"),
        "oQ": (True, 3, "short"), "oM": (True, 5, "long"), "oL": (False, 0, ""),
    }
