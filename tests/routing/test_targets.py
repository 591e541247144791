"""Response-time targets: the due time of a wait in business hours, kept current by the
domain events and the sweep; near breach; breaches recorded once; the breaches API."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.test import TestCase

from accounts import events
from accounts.models import BusinessHours
from accounts.services import api_key_create
from messaging.events import conversation_transferred_for, message_created
from messaging.models import Conversation
from routing import targets
from routing.brand_settings import targets_for
from routing.models import ResponseBreach
from tests.factories import make_account, make_brand, make_conversation, make_member, make_team

pytestmark = pytest.mark.django_db

SHANGHAI = ZoneInfo("Asia/Shanghai")
WEEKDAYS = [[(540, 1080)]] * 5 + [[], []]  # Mon-Fri 09-18


def at(*args) -> datetime:
    return datetime(*args, tzinfo=SHANGHAI)


MONDAY_EVENING = at(2026, 11, 2, 17, 45)


@pytest.fixture
def place():
    brand = make_brand()
    account = make_account(brand=brand, timezone="Asia/Shanghai")
    team = make_team(brand=brand, name="Front desk", accounts=[account])
    row = targets_for(team)
    row.first_response_minutes, row.next_response_minutes = 30, 15
    row.save()
    BusinessHours.objects.create(brand=brand, team=team, week=WEEKDAYS)
    return {"brand": brand, "account": account, "team": team}


def _waiting(place, since=MONDAY_EVENING, **fields) -> Conversation:
    data = {"team": place["team"], "opened_at": since, "last_message_at": since,
            "waiting_since": since}
    data.update(fields)
    return make_conversation(account=place["account"], **data)


def _announce(name: str, payload: dict) -> None:
    with TestCase.captureOnCommitCallbacks(execute=True):
        events.announce(name, payload)


# -- the due time ---------------------------------------------------------------------------

def test_a_first_response_is_due_after_its_minutes_of_open_time(place):
    conversation = _waiting(place)
    # 15 minutes on Monday before 18:00, 15 more from Tuesday's 09:00.
    assert targets.due_at(conversation=conversation) == at(2026, 11, 3, 9, 15)
    target = targets.target_of(conversation)
    assert (target.kind, target.minutes) == ("first", 30)


def test_after_the_first_answer_the_next_response_target_applies(place):
    conversation = _waiting(place, first_response_at=at(2026, 11, 2, 9, 5))
    assert targets.due_at(conversation=conversation) == at(2026, 11, 2, 18, 0)
    assert targets.target_of(conversation).kind == "next"


def test_no_due_time_without_a_wait_a_team_or_a_target(place):
    assert targets.due_at(conversation=_waiting(place, waiting_since=None)) is None
    assert targets.due_at(conversation=_waiting(place, team=None)) is None
    assert targets.due_at(conversation=_waiting(place, status="snoozed")) is None
    row = targets_for(place["team"])
    row.next_response_minutes = None
    row.save()
    answered = _waiting(place, first_response_at=at(2026, 11, 2, 9, 5))
    assert targets.due_at(conversation=answered) is None


def test_a_team_without_hours_counts_in_the_accounts_hours_else_round_the_clock(place):
    BusinessHours.objects.filter(team=place["team"]).delete()
    conversation = _waiting(place)
    assert targets.due_at(conversation=conversation) == MONDAY_EVENING + timedelta(minutes=30)
    BusinessHours.objects.create(brand=place["brand"], account=place["account"],
                                 week=[[(480, 1080)]] * 5 + [[], []])  # 08-18
    assert targets.due_at(conversation=conversation) == at(2026, 11, 3, 8, 15)


# -- kept current -------------------------------------------------------------------------

def _message(conversation: Conversation, direction: str) -> dict:
    return message_created(brand_id=conversation.brand_id, conversation_id=conversation.pk,
                           message_id=1, account_id=conversation.channel_account_id,
                           direction=direction)


def test_a_followers_message_stores_the_due_time_and_a_reply_clears_it(place):
    conversation = _waiting(place)
    _announce("message.created", _message(conversation, "in"))
    conversation.refresh_from_db()
    assert conversation.response_due_at == at(2026, 11, 3, 9, 15)
    Conversation.objects.filter(pk=conversation.pk).update(
        waiting_since=None, first_response_at=at(2026, 11, 3, 9, 0))
    _announce("message.created", _message(conversation, "out"))
    conversation.refresh_from_db()
    assert conversation.response_due_at is None


def test_a_note_leaves_the_due_time_alone(place):
    conversation = _waiting(place)
    _announce("message.created", _message(conversation, "note"))
    conversation.refresh_from_db()
    assert conversation.response_due_at is None


def test_a_transfer_to_another_team_counts_by_that_teams_targets(place):
    conversation = _waiting(place, response_due_at=at(2026, 11, 3, 9, 15))
    night = make_team(brand=place["brand"], name="Night desk")
    row = targets_for(night)
    row.first_response_minutes = 10
    row.save()
    Conversation.objects.filter(pk=conversation.pk).update(team=night)
    conversation.refresh_from_db()
    _announce("conversation.transferred", conversation_transferred_for(
        conversation, previous_handling_account_id=conversation.handling_account_id,
        previous_team_id=place["team"].pk, previous_assignee_id=None, by_membership_id=None))
    conversation.refresh_from_db()
    assert conversation.response_due_at == MONDAY_EVENING + timedelta(minutes=10)


def test_a_resolved_conversation_loses_its_due_time(place):
    from messaging.events import conversation_resolved_for

    conversation = _waiting(place, response_due_at=at(2026, 11, 3, 9, 15))
    Conversation.objects.filter(pk=conversation.pk).update(status="resolved",
                                                           waiting_since=None)
    conversation.refresh_from_db()
    _announce("conversation.resolved", conversation_resolved_for(conversation, cause="agent"))
    conversation.refresh_from_db()
    assert conversation.response_due_at is None


def test_a_snooze_puts_the_due_time_aside_and_the_wake_up_brings_it_back(place):
    from messaging.events import conversation_fact_for, conversation_updated_for

    conversation = _waiting(place, response_due_at=at(2026, 11, 3, 9, 15))
    Conversation.objects.filter(pk=conversation.pk).update(status="snoozed")
    conversation.refresh_from_db()
    _announce("conversation.snoozed", conversation_fact_for(conversation))
    conversation.refresh_from_db()
    assert conversation.response_due_at is None
    Conversation.objects.filter(pk=conversation.pk).update(status="open")
    conversation.refresh_from_db()
    _announce("conversation.updated", conversation_updated_for(conversation, change="woken"))
    conversation.refresh_from_db()
    assert conversation.response_due_at == at(2026, 11, 3, 9, 15)


def test_the_refresh_task_skips_a_gone_conversation_and_goes_on(place):
    from routing.tasks_targets import due_refresh_batch_task

    conversation = _waiting(place)
    assert due_refresh_batch_task.apply(args=([0, conversation.pk, conversation.pk],)).get() == 1
    conversation.refresh_from_db()
    assert conversation.response_due_at == at(2026, 11, 3, 9, 15)


def test_a_refresh_never_writes_the_due_of_a_wait_that_ended_meanwhile(place, monkeypatch):
    conversation = _waiting(place)
    computed = targets.due_at

    def reply_lands_meanwhile(**kwargs):
        due = computed(**kwargs)
        Conversation.objects.filter(pk=conversation.pk).update(waiting_since=None)
        return due

    monkeypatch.setattr(targets, "due_at", reply_lands_meanwhile)
    targets.conversation_due_refresh(conversation_id=conversation.pk)
    conversation.refresh_from_db()
    assert conversation.response_due_at is None


def test_the_sweep_fills_a_missing_due_time(place):
    conversation = _waiting(place)
    untargeted = _waiting(place, team=make_team(brand=place["brand"], name="No targets"))
    assert targets.dues_fill(now=at(2026, 11, 2, 18, 0)) == 1
    conversation.refresh_from_db()
    untargeted.refresh_from_db()
    assert conversation.response_due_at == at(2026, 11, 3, 9, 15)
    assert untargeted.response_due_at is None


def test_changed_targets_are_picked_up_after_a_reset(place):
    conversation = _waiting(place)
    targets.dues_fill(now=MONDAY_EVENING)
    row = targets_for(place["team"])
    row.first_response_minutes = 5
    row.save()
    assert targets.team_dues_reset(team_id=place["team"].pk) == 1
    targets.dues_fill(now=MONDAY_EVENING)
    conversation.refresh_from_db()
    assert conversation.response_due_at == MONDAY_EVENING + timedelta(minutes=5)


# -- near breach and breach -----------------------------------------------------------------

def test_near_breach_is_within_the_warning_minutes_and_before_the_due_time(place):
    due = at(2026, 11, 3, 9, 15)
    assert targets.due_flag(due, now=at(2026, 11, 3, 9, 9), warn_minutes=5) == ""
    assert targets.due_flag(due, now=at(2026, 11, 3, 9, 10), warn_minutes=5) == "near"
    assert targets.due_flag(due, now=due, warn_minutes=5) == "overdue"
    assert targets.due_flag(None, now=due, warn_minutes=5) == ""
    near = _waiting(place, response_due_at=due)
    _waiting(place, response_due_at=due + timedelta(hours=1))
    _waiting(place, response_due_at=at(2026, 11, 3, 9, 12))  # overdue already
    _waiting(place, response_due_at=due, waiting_since=None)  # answered
    found = targets.near_breach(Conversation.objects.all(), now=at(2026, 11, 3, 9, 12),
                                warn_minutes=5)
    assert list(found) == [near]


def test_a_breach_is_recorded_once_per_wait_with_its_facts(place, caplog):
    agent = make_member(brand=place["brand"], accounts=[place["account"]])
    conversation = _waiting(place, assignee=agent)
    targets.dues_fill(now=MONDAY_EVENING)
    assert targets.breaches_record(now=at(2026, 11, 3, 9, 14)) == 0    # not yet
    with caplog.at_level(logging.INFO, logger="routing.targets"):
        assert targets.breaches_record(now=at(2026, 11, 3, 9, 15)) == 1
    assert targets.breaches_record(now=at(2026, 11, 3, 9, 30)) == 0    # once
    breach = ResponseBreach.objects.get()
    assert (breach.conversation, breach.kind, breach.target_minutes) == (conversation, "first", 30)
    assert (breach.brand, breach.account, breach.team, breach.assignee) == (
        place["brand"], place["account"], place["team"], agent)
    assert breach.waiting_since == MONDAY_EVENING
    assert breach.due_at == at(2026, 11, 3, 9, 15)
    [line] = [r for r in caplog.records if r.getMessage() == "response target breached"]
    assert line.levelno == logging.INFO and line.conversation_id == conversation.pk


def test_a_new_wait_of_the_same_conversation_can_breach_again(place):
    conversation = _waiting(place, first_response_at=at(2026, 11, 2, 9, 5))
    targets.dues_fill(now=MONDAY_EVENING)
    targets.breaches_record(now=at(2026, 11, 4, 12, 0))
    later = at(2026, 11, 4, 12, 30)
    Conversation.objects.filter(pk=conversation.pk).update(waiting_since=later,
                                                           response_due_at=None)
    targets.dues_fill(now=later)
    assert targets.breaches_record(now=at(2026, 11, 4, 12, 44)) == 0
    assert targets.breaches_record(now=at(2026, 11, 4, 12, 45)) == 1
    assert ResponseBreach.objects.filter(conversation=conversation, kind="next").count() == 2


def test_a_wait_answered_in_time_is_no_breach_and_loses_its_due_time(place):
    conversation = _waiting(place)
    targets.dues_fill(now=MONDAY_EVENING)
    Conversation.objects.filter(pk=conversation.pk).update(waiting_since=None)
    assert targets.breaches_record(now=at(2026, 11, 3, 10, 0)) == 0
    conversation.refresh_from_db()
    assert conversation.response_due_at is None
    assert not ResponseBreach.objects.exists()


def test_the_sweep_answers_its_counts(place):
    _waiting(place)
    counts = targets.targets_sweep(now=at(2026, 11, 3, 9, 20))
    assert counts == {"dues": 1, "breaches": 1, "overflowed": 0, "returned": 0,
                      "auto_resolved": 0}
    assert targets.targets_sweep(now=at(2026, 11, 3, 9, 21))["breaches"] == 0


def test_a_failing_step_does_not_stop_the_sweep(place, monkeypatch, caplog):
    from routing import overflow

    def broken(**kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr(overflow, "overflow_after_waiting", broken)
    _waiting(place)
    counts = targets.targets_sweep(now=at(2026, 11, 3, 9, 20))
    assert counts["overflowed"] is None
    assert counts["breaches"] == 1 and counts["auto_resolved"] == 0
    assert any(r.getMessage() == "targets sweep step failed" for r in caplog.records)


# -- what the API shows -------------------------------------------------------------------

def test_conversations_in_the_api_carry_their_due_time(client, place):
    conversation = _waiting(place)
    targets.dues_fill(now=MONDAY_EVENING)
    _key, raw = api_key_create(brand=place["brand"], name="integration")
    auth = {"HTTP_AUTHORIZATION": f"Bearer {raw}"}
    listed = client.get("/api/v1/conversations/", **auth).json()["results"]
    assert datetime.fromisoformat(listed[0]["response_due_at"]) == at(2026, 11, 3, 9, 15)
    detail = client.get(f"/api/v1/conversations/{conversation.pk}/", **auth).json()
    assert datetime.fromisoformat(detail["response_due_at"]) == at(2026, 11, 3, 9, 15)


def _breach(conversation: Conversation, *, kind: str = "first",
            breached: datetime) -> ResponseBreach:
    breach = ResponseBreach.objects.create(
        brand_id=conversation.brand_id, conversation=conversation,
        account_id=conversation.handling_account_id, team_id=conversation.team_id,
        kind=kind, target_minutes=30, waiting_since=conversation.waiting_since,
        due_at=conversation.waiting_since + timedelta(minutes=30),
    )
    ResponseBreach.objects.filter(pk=breach.pk).update(breached_at=breached)
    return breach


def test_the_breaches_api_lists_and_filters_the_brands_breaches(client, two_brands):
    data = two_brands
    mine = _breach(data["conversation_a"], breached=at(2026, 11, 3, 9, 0))
    on_a2 = make_conversation(account=data["a2"], waiting_since=MONDAY_EVENING)
    other = _breach(on_a2, kind="next", breached=at(2026, 11, 5, 9, 0))
    foreign = _breach(data["conversation_b"], breached=at(2026, 11, 4, 9, 0))
    _key, raw = api_key_create(brand=data["brand_a"], name="analytics")
    auth = {"HTTP_AUTHORIZATION": f"Bearer {raw}"}

    def ids(query: str = "") -> list[int]:
        body = client.get(f"/api/v1/breaches/{query}", **auth).json()
        return [row["id"] for row in body["results"]]

    assert ids() == [other.pk, mine.pk]                      # newest first, brand A only
    assert ids(f"?account={data['a1'].pk}") == [mine.pk]
    assert ids(f"?team={data['team_a'].pk}") == [mine.pk]
    assert ids("?kind=next") == [other.pk]
    assert ids("?since=2026-11-04T00:00:00%2B08:00") == [other.pk]
    assert ids(f"?account={data['b1'].pk}") == []            # a foreign id finds nothing
    assert client.get("/api/v1/breaches/?kind=late", **auth).status_code == 400
    row = client.get(f"/api/v1/breaches/{mine.pk}/", **auth).json()
    assert row["conversation"] == data["conversation_a"].pk
    assert row["team"] == {"id": data["team_a"].pk, "name": "A team"}
    assert row["kind"] == "first" and row["target_minutes"] == 30
    assert client.get(f"/api/v1/breaches/{foreign.pk}/", **auth).status_code == 404


def test_an_agent_sees_only_the_breaches_of_conversations_they_see(client, two_brands):
    data = two_brands
    hidden = _breach(data["conversation_a"], breached=at(2026, 11, 3, 9, 0))  # on a1
    on_a2 = make_conversation(account=data["a2"], waiting_since=MONDAY_EVENING)
    seen = _breach(on_a2, breached=at(2026, 11, 3, 9, 0))
    client.force_login(data["agent_a"].user)                 # serves a2 only
    body = client.get("/api/v1/breaches/").json()
    assert [row["id"] for row in body["results"]] == [seen.pk]
    assert client.get(f"/api/v1/breaches/{hidden.pk}/").status_code == 404
    client.force_login(data["admin_a"].user)
    assert len(client.get("/api/v1/breaches/").json()["results"]) == 2


def test_a_message_through_ingestion_gets_the_due_time_of_the_team_it_is_routed_to(place):
    from tests.messaging.ingest_support import deliver, text

    account = place["account"]
    account.app_secret = ""  # no profile fetch: no platform here
    account.save()
    BusinessHours.objects.filter(team=place["team"]).delete()  # round the clock
    sent = MONDAY_EVENING
    deliver(account, text(account, "oWaits", "hello", at=int(sent.timestamp())))
    conversation = Conversation.objects.get(follower__openid="oWaits")
    assert conversation.team == place["team"]
    assert conversation.response_due_at == sent + timedelta(minutes=30)
