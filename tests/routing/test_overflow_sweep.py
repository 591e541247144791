"""Overflow after waiting (the brand's "after N minutes"), and the return to the local team
when it opens (`routing.overflow`, run by the targets sweep)."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from accounts.models import BusinessHours, Membership
from messaging.models import Conversation
from routing import overflow
from routing.brand_settings import settings_for
from routing.models import RoutingDecision, Transfer
from routing.targets import targets_sweep
from tests.factories import make_account, make_brand, make_conversation, make_member, make_team

pytestmark = pytest.mark.django_db

SHANGHAI = ZoneInfo("Asia/Shanghai")
WEEKDAYS = [[(540, 1080)]] * 5 + [[], []]  # Mon-Fri 09-18


def at(*args) -> datetime:
    return datetime(*args, tzinfo=SHANGHAI)


MONDAY_NIGHT = at(2026, 11, 2, 20, 0)
TUESDAY_MORNING = at(2026, 11, 3, 9, 30)


def _agent(brand, account, team, *, online=True, capacity=3, languages=()) -> Membership:
    agent = make_member(brand=brand, accounts=[account])
    agent.presence = "online" if online else "offline"
    agent.capacity, agent.languages = capacity, list(languages)
    agent.save()
    agent.teams.add(team)
    return agent


@pytest.fixture
def brand_place():
    brand = make_brand()
    account = make_account(brand=brand, timezone="Asia/Shanghai")
    local = make_team(brand=brand, name="Front desk", accounts=[account])
    BusinessHours.objects.create(brand=brand, team=local, week=WEEKDAYS)
    central = make_team(brand=brand, name="Care")
    central.is_central = True
    central.save()
    settings = settings_for(brand.pk)
    settings.overflow, settings.overflow_after_minutes = "after", 10
    settings.overflow_return = True
    settings.save()
    return {"brand": brand, "account": account, "local": local, "central": central,
            "settings": settings}


def _waiting(place, since=MONDAY_NIGHT, language="en", **fields) -> Conversation:
    data = {"team": place["local"], "language": language, "opened_at": since,
            "last_message_at": since, "waiting_since": since}
    data.update(fields)
    return make_conversation(account=place["account"], **data)


def _team_of(conversation: Conversation) -> int | None:
    conversation.refresh_from_db()
    return conversation.team_id


# -- overflow after waiting ---------------------------------------------------------------

def test_a_closed_team_keeps_it_until_the_minutes_have_passed(brand_place):
    conversation = _waiting(brand_place)
    assert overflow.overflow_after_waiting(now=MONDAY_NIGHT + timedelta(minutes=9)) == 0
    assert _team_of(conversation) == brand_place["local"].pk
    assert not RoutingDecision.objects.filter(conversation=conversation).exists()


def test_after_the_minutes_a_closed_team_overflows_to_the_central_team(brand_place, announced):
    place = brand_place
    carer = _agent(place["brand"], place["account"], place["central"])
    conversation = _waiting(place)
    now = MONDAY_NIGHT + timedelta(minutes=11)
    assert overflow.overflow_after_waiting(now=now) == 1
    conversation.refresh_from_db()
    assert conversation.team == place["central"]
    assert conversation.assignee == carer                   # the central queue was drained
    decision = RoutingDecision.objects.get(conversation=conversation, kind="overflowed")
    assert decision.team == place["central"]
    assert decision.steps == [{
        "step": "overflow", "why": "closed", "from": place["local"].pk,
        "from_name": "Front desk", "to": place["central"].pk, "to_name": "Care",
        "waited_minutes": 11, "after_minutes": 10,
    }]
    [moved] = [p for name, p in announced if name == "conversation.transferred"]
    assert moved["team_id"] == place["central"].pk
    assert moved["previous_team_id"] == place["local"].pk
    assert moved["by_membership_id"] is None


def test_an_open_team_without_an_online_speaker_overflows(brand_place):
    place = brand_place
    _agent(place["brand"], place["account"], place["local"], languages=["en"])
    chinese = _waiting(place, since=at(2026, 11, 2, 10, 0), language="zh-hans")
    english = _waiting(place, since=at(2026, 11, 2, 10, 0), language="en", assignee=None)
    assert overflow.overflow_after_waiting(now=at(2026, 11, 2, 10, 20)) == 1
    assert _team_of(chinese) == place["central"].pk
    decision = RoutingDecision.objects.get(conversation=chinese, kind="overflowed")
    assert decision.steps[0]["why"] == "no_speaker"
    assert _team_of(english) == place["local"].pk


def test_an_open_team_whose_speakers_are_busy_keeps_its_queue(brand_place):
    place = brand_place
    busy = _agent(place["brand"], place["account"], place["local"], capacity=1)
    _waiting(place, since=at(2026, 11, 2, 9, 0), assignee=busy)
    waiting = _waiting(place, since=at(2026, 11, 2, 10, 0))
    assert overflow.overflow_after_waiting(now=at(2026, 11, 2, 11, 0)) == 0
    assert _team_of(waiting) == place["local"].pk


@pytest.mark.parametrize("mode", ["at_once", "off"])
def test_only_the_after_setting_overflows_in_the_sweep(brand_place, mode):
    place = brand_place
    place["settings"].overflow = mode
    place["settings"].save()
    conversation = _waiting(place)
    assert overflow.overflow_after_waiting(now=MONDAY_NIGHT + timedelta(hours=1)) == 0
    assert _team_of(conversation) == place["local"].pk


def test_without_a_central_team_that_can_take_it_the_conversation_stays(brand_place):
    place = brand_place
    BusinessHours.objects.create(brand=place["brand"], team=place["central"], week=WEEKDAYS)
    conversation = _waiting(place)
    assert overflow.overflow_after_waiting(now=MONDAY_NIGHT + timedelta(hours=1)) == 0
    assert _team_of(conversation) == place["local"].pk


def test_assigned_and_transferring_conversations_do_not_overflow(brand_place):
    place = brand_place
    agent = _agent(place["brand"], place["account"], place["local"], online=False)
    held = _waiting(place, assignee=agent)
    handed = _waiting(place)
    Transfer.objects.create(brand=place["brand"], conversation=handed, kind="team",
                            to_team=place["central"], note="over to you")
    assert overflow.overflow_after_waiting(now=MONDAY_NIGHT + timedelta(hours=1)) == 0
    assert _team_of(held) == _team_of(handed) == place["local"].pk


def test_the_overflow_takes_the_central_teams_targets(brand_place):
    from routing.brand_settings import targets_for

    place = brand_place
    row = targets_for(place["central"])
    row.first_response_minutes = 15
    row.save()
    conversation = _waiting(place)
    overflow.overflow_after_waiting(now=MONDAY_NIGHT + timedelta(minutes=11))
    conversation.refresh_from_db()
    assert conversation.response_due_at == MONDAY_NIGHT + timedelta(minutes=15)


# -- the return ---------------------------------------------------------------------------

def _overflowed_overnight(place, count: int = 1) -> list[Conversation]:
    """Conversations that overflowed at night to a central team nobody was online in."""
    rows = [_waiting(place, since=MONDAY_NIGHT + timedelta(minutes=n)) for n in range(count)]
    assert targets_sweep(now=MONDAY_NIGHT + timedelta(hours=1))["overflowed"] == count
    return rows


def test_waiting_conversations_go_back_when_the_local_team_opens(brand_place, announced):
    place = brand_place
    [conversation] = _overflowed_overnight(place)
    desk = _agent(place["brand"], place["account"], place["local"])
    assert overflow.overflow_return(now=at(2026, 11, 3, 8, 59)) == 0     # still closed
    assert overflow.overflow_return(now=TUESDAY_MORNING) == 1
    conversation.refresh_from_db()
    assert conversation.team == place["local"]
    assert conversation.assignee == desk                     # the local queue was drained
    kinds = list(RoutingDecision.objects.filter(conversation=conversation)
                 .values_list("kind", flat=True))
    assert kinds == ["overflowed", "returned", "assigned"]
    returned = RoutingDecision.objects.get(conversation=conversation, kind="returned")
    assert returned.team == place["local"]
    assert returned.steps == [{"step": "return", "from": place["central"].pk,
                               "from_name": "Care", "to": place["local"].pk,
                               "to_name": "Front desk"}]
    back = [p for name, p in announced if name == "conversation.transferred"][-1]
    assert (back["previous_team_id"], back["team_id"]) == (place["central"].pk,
                                                           place["local"].pk)


def test_with_the_return_off_they_stay_in_the_central_queue(brand_place):
    place = brand_place
    [conversation] = _overflowed_overnight(place)
    place["settings"].overflow_return = False
    place["settings"].save()
    _agent(place["brand"], place["account"], place["local"])
    assert overflow.overflow_return(now=TUESDAY_MORNING) == 0
    assert _team_of(conversation) == place["central"].pk


def test_no_more_go_back_than_the_local_team_has_room_for(brand_place):
    place = brand_place
    older, younger = _overflowed_overnight(place, count=2)
    _agent(place["brand"], place["account"], place["local"], capacity=1)
    assert overflow.overflow_return(now=TUESDAY_MORNING) == 1
    assert _team_of(older) == place["local"].pk
    assert _team_of(younger) == place["central"].pk


def test_nothing_goes_back_to_a_team_without_an_online_speaker_with_room(brand_place):
    place = brand_place
    [conversation] = _overflowed_overnight(place)
    _agent(place["brand"], place["account"], place["local"], online=False)
    _agent(place["brand"], place["account"], place["local"], languages=["zh-hans"])
    assert overflow.overflow_return(now=TUESDAY_MORNING) == 0
    assert _team_of(conversation) == place["central"].pk


def test_a_conversation_the_central_team_took_does_not_go_back(brand_place):
    place = brand_place
    [conversation] = _overflowed_overnight(place)
    carer = _agent(place["brand"], place["account"], place["central"])
    Conversation.objects.filter(pk=conversation.pk).update(assignee=carer)
    _agent(place["brand"], place["account"], place["local"])
    assert overflow.overflow_return(now=TUESDAY_MORNING) == 0
    assert _team_of(conversation) == place["central"].pk


def test_an_overflow_at_once_by_the_rules_goes_back_too(brand_place):
    place = brand_place
    conversation = _waiting(place, team=place["central"])
    RoutingDecision.objects.create(
        brand=place["brand"], conversation=conversation, kind="overflowed",
        team=place["central"], steps=[{"step": "overflow", "why": "closed",
                                       "from": place["local"].pk, "to": place["central"].pk}])
    _agent(place["brand"], place["account"], place["local"])
    assert overflow.overflow_return(now=TUESDAY_MORNING) == 1
    assert _team_of(conversation) == place["local"].pk
