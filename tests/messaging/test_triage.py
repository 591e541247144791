"""Triage in the lists: what to answer first, windows about to close, the snoozed box.

Each box puts the follower who has waited longest first (`waiting_since`), then the
conversations nobody waits in, most recent first; a reply window closing within two hours
is given (`window_closing_at`) so the console can mark it. A snoozed conversation leaves
the boxes for the snoozed box, and comes back when its snooze ends.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from django.utils import timezone

from accounts.scope import scope_for_membership
from messaging import selectors, services
from messaging.models import Conversation
from tests.factories import make_conversation, make_follower

pytestmark = pytest.mark.django_db
API = "/api/v1/conversations/"


def _ago(minutes: float) -> datetime:
    return timezone.now() - timedelta(minutes=minutes)


def _rows(client, **params) -> list[dict]:  # noqa: ANN001, ANN003
    response = client.get(API, params)
    assert response.status_code == 200, response.content
    return response.json()["results"]


@pytest.fixture
def queue(two_brands: dict) -> dict:
    """Brand A's a2 (agent A's account): four live conversations with known waits and
    windows, and one snoozed."""
    a2 = two_brands["a2"]

    def convo(*, waiting: float | None, window_hours: float = 1, **fields: object):  # noqa: ANN202
        follower = make_follower(account=a2, window_at=_ago(window_hours * 60))
        return make_conversation(
            follower=follower, waiting_since=None if waiting is None else _ago(waiting),
            last_message_at=_ago(waiting or 1), **fields,
        )

    return {
        **two_brands,
        "ten": convo(waiting=10),
        # Written 47 hours ago and waiting since: its window closes within the hour.
        "closing": convo(waiting=47 * 60, window_hours=47),
        "answered": convo(waiting=None),
        "thirty": convo(waiting=30, window_hours=40),
        "snoozed": convo(waiting=90, status="snoozed", snoozed_until=timezone.now()
                         + timedelta(hours=3)),
    }


def test_longest_waiting_first_and_a_closing_window_is_marked(client, queue: dict) -> None:
    client.force_login(queue["agent_a"].user)
    rows = _rows(client, box="all", status="live")
    # Waiting longest first, the answered one last; the snoozed one is in no box.
    assert [r["id"] for r in rows] == [
        queue["closing"].pk, queue["thirty"].pk, queue["ten"].pk, queue["answered"].pk,
    ]
    marks = {r["id"]: r["window_closing_at"] for r in rows}
    closes = queue["closing"].follower.window_opened_at + timedelta(hours=48)
    assert datetime.fromisoformat(marks[queue["closing"].pk]) == closes
    # 40 hours into the window: 8 hours left, not marked; nor windows just opened.
    assert [marks[queue[n].pk] for n in ("thirty", "ten", "answered")] == [None] * 3


def test_the_mark_follows_the_window_rule(queue: dict) -> None:
    closing = queue["closing"]
    now = timezone.now()
    opened = closing.follower.window_opened_at
    assert selectors.window_closing_at(conversation=closing, now=now) == opened + timedelta(
        hours=48)
    # Two hours and a minute before the end: not yet; after the end: closed, no mark.
    assert selectors.window_closing_at(
        conversation=closing, now=opened + timedelta(hours=45, minutes=59)) is None
    assert selectors.window_closing_at(
        conversation=closing, now=opened + timedelta(hours=48, minutes=1)) is None
    # The follower's five sends spent: nothing to reply with, nothing to mark.
    closing.follower.window_sends = 5
    assert selectors.window_closing_at(conversation=closing, now=now) is None
    closing.follower.window_sends = 0
    closing.status = Conversation.Status.RESOLVED
    assert selectors.window_closing_at(conversation=closing, now=now) is None


def test_the_snoozed_box_lists_them_soonest_back_first_and_they_come_back(
    client, queue: dict
) -> None:
    agent = queue["agent_a"]
    scope = scope_for_membership(agent)
    sooner = timezone.now() + timedelta(minutes=30)
    services.conversation_snooze(scope=scope, conversation=queue["ten"], until=sooner)
    # Not the agent's to see (a1, team A; and brand B's): never in their snoozed box.
    Conversation.objects.filter(pk__in=[queue["conversation_a"].pk,
                                        queue["conversation_b"].pk]).update(
        status="snoozed", snoozed_until=sooner)
    client.force_login(agent.user)

    snoozed = _rows(client, box="snoozed", status="live")
    assert [r["id"] for r in snoozed] == [queue["ten"].pk, queue["snoozed"].pk]
    assert [r["snoozed_until"] is not None for r in snoozed] == [True, True]
    for box in ("all", "unassigned", "mine"):
        ids = {r["id"] for r in _rows(client, box=box, status="live")}
        assert not ids & {queue["ten"].pk, queue["snoozed"].pk}, box
    # No box: every conversation, as the REST API always answered.
    assert queue["ten"].pk in {r["id"] for r in _rows(client)}
    counts = client.get(API + "counts/").json()
    assert (counts["snoozed"], counts["all"], counts["unassigned"]) == (2, 3, 3)

    # The beat's sweep, once the snooze ended: back where it was, in its place.
    assert services.conversations_wake_snoozed(now=sooner + timedelta(seconds=1)) == 3
    assert [r["id"] for r in _rows(client, box="snoozed")] == [queue["snoozed"].pk]
    assert [r["id"] for r in _rows(client, box="all", status="live")] == [
        queue["closing"].pk, queue["thirty"].pk, queue["ten"].pk, queue["answered"].pk,
    ]
    assert client.get(API + "counts/").json()["snoozed"] == 1


def test_counts_and_the_snoozed_box_of_a_brand_wide_member(client, queue: dict) -> None:
    client.force_login(queue["admin_a"].user)
    counts = client.get(API + "counts/").json()
    # Brand A: a2's four live ones and conversation A; one snoozed. Brand B is not counted.
    assert (counts["all"], counts["snoozed"], counts["mine"]) == (5, 1, 0)
    assert client.get(API, {"box": "snoozed"}).json()["results"][0]["id"] == queue[
        "snoozed"].pk
    assert client.get(API, {"box": "later"}).status_code == 400


def test_the_count_of_those_waiting_unassigned_has_each_languages_forms() -> None:
    from django.utils import translation

    from routing.strings import console_strings

    with translation.override("en"):
        assert console_strings()["waiting_unassigned"] == {
            "one": "%(n)s conversation waiting in Unassigned",
            "other": "%(n)s conversations waiting in Unassigned",
        }
    with translation.override("zh-hans"):
        forms = console_strings()["waiting_unassigned"]
        assert forms["one"] == forms["other"] == "“未分配”中有 %(n)s 个会话在等待"
