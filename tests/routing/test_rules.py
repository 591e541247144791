"""The routing decision: conditions, order, the fallback chain, overflow, business hours
in time zones, holidays and make-up working days, midnight and week edges, and the facts
read from a conversation (the seeds' TC / SC / EN case)."""

import json
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from accounts.models import BusinessHours, Membership
from followers.models import Tag
from messaging.models import Inbound, Message
from routing import rules
from routing.brand_settings import settings_for
from routing.models import RoutingRule, RoutingSettings
from tests.factories import (
    make_account,
    make_brand,
    make_conversation,
    make_follower,
    make_member,
    make_team,
)

pytestmark = pytest.mark.django_db

SHANGHAI = ZoneInfo("Asia/Shanghai")
NEW_YORK = ZoneInfo("America/New_York")
OFFICE = [[(540, 1080)]] * 5 + [[], []]  # Mon-Fri 09-18
# A Tuesday at 10:00 in Shanghai: inside OFFICE hours, no holiday.
TUESDAY_DAY = datetime(2026, 11, 3, 10, 0, tzinfo=SHANGHAI)
TUESDAY_NIGHT = datetime(2026, 11, 3, 22, 0, tzinfo=SHANGHAI)


@pytest.fixture
def world():
    brand = make_brand(name="Marriott")
    flagship = make_account(brand=brand, name="Flagship", is_flagship=True,
                            timezone="Asia/Shanghai")
    bund = make_account(brand=brand, name="Bund hotel", timezone="Asia/Shanghai")
    lonely = make_account(brand=brand, name="No team", timezone="Asia/Shanghai")
    local = make_team(brand=brand, name="Flagship desk", accounts=[flagship])
    concierge = make_team(brand=brand, name="Bund concierge", accounts=[bund])
    central = make_team(brand=brand, name="Care centre")
    central.is_central = True
    central.save()
    agents = {
        "local": _online(brand, local, ["zh-hans", "en"]),
        "concierge": _online(brand, concierge, ["zh-hans", "zh-hant", "en"]),
        "central": _online(brand, central, ["zh-hans", "zh-hant", "en"]),
    }
    return {"brand": brand, "flagship": flagship, "bund": bund, "lonely": lonely,
            "local": local, "concierge": concierge, "central": central, "agents": agents}


def _online(brand, team, languages, presence=Membership.Presence.ONLINE):
    member = make_member(brand=brand)
    member.languages, member.presence = languages, presence
    member.save()
    member.teams.add(team)
    return member


def _facts(world, **fields):
    data = {"brand_id": world["brand"].pk, "account": world["flagship"], "language": "zh-hans",
            "language_source": "given", "text": "", "menu_key": "", "first_contact": True,
            "at": TUESDAY_DAY, "tag_names": frozenset(), "attributes": {}}
    data.update(fields)
    return rules.Facts(**data)


def _rule(world, *, accounts=(), position=0, name=None, **fields):
    fields.setdefault("action", RoutingRule.Action.TEAM)
    if fields["action"] == RoutingRule.Action.TEAM:
        fields.setdefault("team", world["concierge"])
    made = RoutingRule.objects.create(brand=world["brand"], position=position,
                                      name=name or f"rule {position}", **fields)
    made.accounts.set(accounts)
    return made


def _hours(*, account=None, team=None, week=OFFICE, **fields):
    brand = (account or team).brand
    return BusinessHours.objects.create(brand=brand, account=account, team=team, week=week,
                                        **fields)


def _rule_steps(decision):
    return [(s["name"], s["matched"], s["why"]) for s in decision.steps if s["step"] == "rule"]


# -- Conditions ----------------------------------------------------------------------------

CONDITIONS = [
    ({"languages": ["zh-hant"]}, {"language": "zh-hant"}, {"language": "en"}, "language"),
    ({"first_contact": True}, {"first_contact": True}, {"first_contact": False},
     "first_contact"),
    ({"first_contact": False}, {"first_contact": False}, {"first_contact": True},
     "first_contact"),
    ({"keywords": ["Pick-up", "接机"]}, {"text": "Airport PICK-UP tomorrow?"},
     {"text": "breakfast hours?"}, "keyword"),
    ({"keywords": ["接机"]}, {"text": "明天需要接机"}, {"text": "明天需要早餐"}, "keyword"),
    ({"menu_keys": ["BOOK"]}, {"menu_key": "BOOK"}, {"menu_key": "BOOKING"}, "menu_key"),
    ({"tags": ["VIP", "Gold"]}, {"tag_names": frozenset({"Gold", "New"})},
     {"tag_names": frozenset({"New"})}, "tag"),
    ({"attributes": {"tier": "platinum", "nights": 3}},
     {"attributes": {"tier": "Platinum", "nights": 3, "city": "SH"}},
     {"attributes": {"tier": "platinum"}}, "attribute"),
]


@pytest.mark.parametrize("condition, holds, fails, why", CONDITIONS)
def test_each_condition_must_hold(world, condition, holds, fails, why):
    _rule(world, name="the rule", **condition)

    matched = rules.decide(_facts(world, **holds))
    missed = rules.decide(_facts(world, **fails))

    assert matched.rule is not None and matched.team == world["concierge"]
    assert _rule_steps(matched) == [("the rule", True, "")]
    assert missed.rule is None and missed.team == world["local"]
    assert _rule_steps(missed) == [("the rule", False, why)]


def test_the_channel_account_condition(world):
    _rule(world, name="bund only", accounts=[world["bund"]])

    assert rules.decide(_facts(world, account=world["bund"])).rule is not None
    missed = rules.decide(_facts(world, account=world["flagship"]))
    assert _rule_steps(missed) == [("bund only", False, "account")]


def test_the_off_hours_condition_reads_the_channel_accounts_hours(world):
    _hours(account=world["flagship"])
    _rule(world, name="night", off_hours=True)

    night = rules.decide(_facts(world, at=TUESDAY_NIGHT))
    day = rules.decide(_facts(world, at=TUESDAY_DAY))

    assert night.off_hours and night.rule is not None
    assert not day.off_hours and _rule_steps(day) == [("night", False, "off_hours")]


def test_an_account_without_hours_is_never_off_hours(world):
    _rule(world, name="night", off_hours=True)

    decision = rules.decide(_facts(world, at=TUESDAY_NIGHT))

    assert not decision.off_hours and decision.rule is None


def test_every_condition_given_must_hold_together(world):
    _rule(world, name="both", languages=["en"], keywords=["pick-up"])

    assert rules.decide(_facts(world, language="en", text="pick-up please")).rule is not None
    assert _rule_steps(rules.decide(_facts(world, language="en", text="hello"))) == [
        ("both", False, "keyword")]
    assert _rule_steps(rules.decide(_facts(world, language="zh-hans", text="pick-up"))) == [
        ("both", False, "language")]


# -- Order and activity ----------------------------------------------------------------------

def test_rules_are_tried_by_position_then_id_and_the_first_match_wins(world):
    _rule(world, name="third", position=5, action=RoutingRule.Action.CENTRAL)
    _rule(world, name="first", position=1, keywords=["nothing like it"])
    _rule(world, name="second a", position=3, team=world["local"])
    _rule(world, name="second b", position=3, team=world["concierge"])

    decision = rules.decide(_facts(world, text="hello"))

    assert decision.rule.name == "second a" and decision.team == world["local"]
    assert _rule_steps(decision) == [("first", False, "keyword"), ("second a", True, "")]


def test_inactive_rules_are_not_tried(world):
    _rule(world, name="off", is_active=False)

    decision = rules.decide(_facts(world))

    assert decision.rule is None and _rule_steps(decision) == []
    assert decision.team == world["local"]


def test_another_brands_rules_are_not_tried(world):
    other = make_brand()
    RoutingRule.objects.create(brand=other, name="foreign", action=RoutingRule.Action.CENTRAL)

    assert _rule_steps(rules.decide(_facts(world))) == []


# -- Actions --------------------------------------------------------------------------------

def test_account_team_action_goes_to_that_accounts_local_team(world):
    _rule(world, action=RoutingRule.Action.ACCOUNT_TEAM, account=world["bund"])

    assert rules.decide(_facts(world)).team == world["concierge"]


def test_central_action_goes_to_the_central_team(world):
    _rule(world, action=RoutingRule.Action.CENTRAL)

    decision = rules.decide(_facts(world))

    assert decision.team == world["central"] and decision.overflowed_from is None


def test_agent_action_names_the_agent_and_waits_in_their_team(world):
    concierge = world["agents"]["concierge"]
    _rule(world, action=RoutingRule.Action.AGENT, agent=concierge)

    decision = rules.decide(_facts(world, account=world["bund"]))

    assert decision.agent == concierge and decision.team == world["concierge"]


def test_an_agent_outside_the_accounts_teams_is_waited_for_in_their_own_team(world):
    concierge = world["agents"]["concierge"]  # in the Bund's team, not the flagship's
    _rule(world, action=RoutingRule.Action.AGENT, agent=concierge)

    decision = rules.decide(_facts(world, account=world["flagship"]))

    assert decision.agent == concierge and decision.team == world["concierge"]
    assert decision.overflowed_from is None


def test_a_rule_with_nothing_to_send_to_is_passed_over(world):
    _rule(world, name="empty", action=RoutingRule.Action.ACCOUNT_TEAM,
          account=world["lonely"], position=1)
    _rule(world, name="next", position=2)

    decision = rules.decide(_facts(world))

    assert _rule_steps(decision) == [("empty", False, "no_target"), ("next", True, "")]


# -- The fallback chain ----------------------------------------------------------------------

def test_nothing_matches_the_channel_accounts_local_team(world):
    decision = rules.decide(_facts(world, account=world["bund"]))

    assert decision.team == world["concierge"]
    assert decision.steps[-1] == {"step": "fallback", "to": "account_team",
                                  "team": world["concierge"].pk,
                                  "team_name": "Bund concierge"}


def test_an_account_without_a_local_team_falls_back_to_the_central_team(world):
    decision = rules.decide(_facts(world, account=world["lonely"]))

    assert decision.team == world["central"]
    assert decision.steps[-1]["to"] == "central"


def test_a_team_serving_every_account_is_the_local_team_when_none_names_it(world):
    everyone = make_team(brand=world["brand"], name="All accounts desk")

    assert rules.local_team_for(world["lonely"]) == everyone
    assert rules.local_team_for(world["bund"]) == world["concierge"]


def test_no_team_at_all_leaves_it_in_the_accounts_queue(world):
    world["central"].delete()

    decision = rules.decide(_facts(world, account=world["lonely"]))

    assert decision.team is None and decision.steps[-1]["to"] == "none"


# -- Overflow ------------------------------------------------------------------------------

def test_a_closed_local_team_overflows_at_once_to_the_central_team(world):
    _hours(team=world["local"])

    decision = rules.decide(_facts(world, at=TUESDAY_NIGHT))

    assert decision.team == world["central"]
    assert decision.overflowed_from == world["local"]
    assert decision.steps[-1] == {"step": "overflow", "why": "closed",
                                  "from": world["local"].pk, "from_name": "Flagship desk",
                                  "to": world["central"].pk, "to_name": "Care centre"}


def test_the_team_keeps_the_accounts_hours_when_it_has_none(world):
    _hours(account=world["flagship"])

    assert rules.decide(_facts(world, at=TUESDAY_NIGHT)).overflowed_from == world["local"]
    assert rules.decide(_facts(world, at=TUESDAY_DAY)).overflowed_from is None


def test_nobody_online_speaking_the_language_overflows(world):
    decision = rules.decide(_facts(world, language="zh-hant"))

    assert decision.team == world["central"]
    assert decision.steps[-1]["why"] == "no_speaker"


def test_an_offline_speaker_does_not_count(world):
    _online(world["brand"], world["local"], ["zh-hant"], presence=Membership.Presence.OFFLINE)

    assert rules.decide(_facts(world, language="zh-hant")).overflowed_from == world["local"]


def test_an_online_speaker_keeps_it_local(world):
    decision = rules.decide(_facts(world, language="en"))

    assert decision.team == world["local"] and decision.overflowed_from is None
    assert all(s["step"] != "overflow" for s in decision.steps)


def test_overflow_off_keeps_the_chosen_team(world):
    settings = settings_for(world["brand"].pk)
    settings.overflow = RoutingSettings.Overflow.OFF
    settings.save()
    _hours(team=world["local"])

    decision = rules.decide(_facts(world, at=TUESDAY_NIGHT, language="zh-hant"))

    assert decision.team == world["local"] and decision.overflowed_from is None


def test_overflow_after_waiting_is_not_decided_here(world):
    settings = settings_for(world["brand"].pk)
    settings.overflow = RoutingSettings.Overflow.AFTER
    settings.save()

    assert rules.decide(_facts(world, language="zh-hant")).team == world["local"]


def test_no_open_central_team_keeps_the_local_one_and_says_so(world):
    _hours(team=world["local"])
    _hours(team=world["central"])

    decision = rules.decide(_facts(world, at=TUESDAY_NIGHT))

    assert decision.team == world["local"] and decision.overflowed_from is None
    assert decision.steps[-1]["step"] == "overflow" and decision.steps[-1]["to"] is None


def test_overflow_picks_the_central_team_that_speaks_the_language(world):
    world["agents"]["central"].languages = ["zh-hans"]
    world["agents"]["central"].save()
    world["central"].languages = ["zh-hans"]
    world["central"].save()
    hk = make_team(brand=world["brand"], name="Hong Kong care")
    hk.is_central, hk.languages = True, ["zh-hant"]
    hk.save()

    decision = rules.decide(_facts(world, language="zh-hant"))

    assert decision.team == hk


def test_speaks():
    assert rules.speaks([], "zh-hant")
    assert rules.speaks(["en"], "unknown")
    assert rules.speaks(["en", "zh-hant"], "zh-hant")
    assert not rules.speaks(["en"], "zh-hans")


# -- Hours: time zones, holidays, make-up days, midnight and week edges --------------------

def test_hours_are_read_in_the_accounts_time_zone(world):
    ny = make_account(brand=world["brand"], name="New York", timezone="America/New_York")
    _hours(account=ny)
    _rule(world, name="night", off_hours=True)

    # 13:30 UTC is 08:30 in New York (closed) and 21:30 in Shanghai.
    early = rules.decide(_facts(world, account=ny, at=datetime(2026, 11, 3, 13, 30, tzinfo=UTC)))
    # 14:30 UTC is 09:30 in New York (open).
    open_ = rules.decide(_facts(world, account=ny, at=datetime(2026, 11, 3, 14, 30, tzinfo=UTC)))

    assert early.off_hours and early.rule is not None
    assert not open_.off_hours and open_.rule is None


def test_a_public_holiday_is_off_hours_on_a_weekday(world):
    _hours(account=world["flagship"])

    national_day = datetime(2026, 10, 1, 11, 0, tzinfo=SHANGHAI)  # a Thursday
    assert rules.decide(_facts(world, at=national_day)).off_hours
    assert not rules.decide(_facts(world, at=datetime(2026, 10, 12, 11, 0,
                                                      tzinfo=SHANGHAI))).off_hours


def test_a_make_up_working_day_is_open_with_mondays_hours(world):
    _hours(account=world["flagship"])
    _hours(team=world["local"])

    make_up = datetime(2026, 9, 20, 10, 0, tzinfo=SHANGHAI)  # a Sunday, works for National Day
    ordinary = datetime(2026, 9, 13, 10, 0, tzinfo=SHANGHAI)  # an ordinary Sunday

    assert not rules.decide(_facts(world, at=make_up)).off_hours
    assert rules.decide(_facts(world, at=make_up)).overflowed_from is None
    assert rules.decide(_facts(world, at=ordinary)).off_hours
    assert rules.decide(_facts(world, at=ordinary)).overflowed_from == world["local"]


def test_a_make_up_day_keeps_the_team_open_too(world):
    _hours(team=world["local"])

    is_open, reason = rules.team_is_open(world["local"], account=None,
                                         at=datetime(2026, 10, 10, 10, 0, tzinfo=SHANGHAI))

    assert is_open and reason == "make-up working day"


def test_midnight_edges(world):
    # Monday 22:00-24:00 and Tuesday 00:00-02:00: one night shift across midnight.
    week = [[(1320, 1440)], [(0, 120)], [], [], [], [], []]
    _hours(account=world["flagship"], week=week, observe_cn_holidays=False)
    monday = datetime(2026, 11, 2, tzinfo=SHANGHAI)

    def off(minutes):
        return rules.decide(_facts(world, at=monday + timedelta(minutes=minutes))).off_hours

    assert off(22 * 60 - 1)               # Monday 21:59
    assert not off(22 * 60)               # Monday 22:00
    assert not off(24 * 60 - 1)           # Monday 23:59
    assert not off(24 * 60)               # Tuesday 00:00
    assert not off(26 * 60 - 1)           # Tuesday 01:59
    assert off(26 * 60)                   # Tuesday 02:00


def test_week_edges(world):
    # Sunday 20:00-24:00 and Monday 00:00-08:00; Saturday shut.
    week = [[(0, 480)], [], [], [], [], [], [(1200, 1440)]]
    _hours(account=world["flagship"], week=week, observe_cn_holidays=False)
    sunday = datetime(2026, 11, 8, tzinfo=SHANGHAI)

    def off(minutes):
        return rules.decide(_facts(world, at=sunday + timedelta(minutes=minutes))).off_hours

    assert off(-30)                       # Saturday 23:30
    assert off(19 * 60 + 59)              # Sunday 19:59
    assert not off(23 * 60 + 59)          # Sunday 23:59
    assert not off(24 * 60)               # Monday 00:00
    assert off(32 * 60)                   # Monday 08:00


# -- Facts from a conversation --------------------------------------------------------------

def _say(conversation, text, *, minutes=0):
    message = Message.objects.create(
        brand_id=conversation.brand_id, conversation=conversation,
        account=conversation.channel_account, direction=Message.Direction.INBOUND,
        content=text)
    Message.objects.filter(pk=message.pk).update(
        created_at=TUESDAY_DAY + timedelta(minutes=minutes))
    return message


def test_seeds_language_choice_tc_routes_to_the_traditional_chinese_team(world):
    """The seeds' OA explainer: followers reply TC, SC or EN to pick their language. A
    follower whose phone says zh_CN but who replied "TC" is routed as Traditional Chinese,
    also for the messages after the choice."""
    hk = make_team(brand=world["brand"], name="TC desk", accounts=[world["flagship"]])
    _online(world["brand"], hk, ["zh-hant"])
    RoutingRule.objects.create(brand=world["brand"], name="Traditional", languages=["zh-hant"],
                               action=RoutingRule.Action.TEAM, team=hk)
    follower = make_follower(account=world["flagship"], language="zh_CN")
    conversation = make_conversation(follower=follower, opened_at=TUESDAY_DAY)
    _say(conversation, "TC", minutes=1)
    _say(conversation, "我想预订机场接机", minutes=2)

    facts = rules.facts_for(conversation, at=TUESDAY_DAY + timedelta(minutes=3))
    decision = rules.decide(facts)

    assert (facts.language, facts.language_source) == ("zh-hant", "choice")
    assert facts.text == "我想预订机场接机"
    assert decision.team == hk and decision.rule.name == "Traditional"


@pytest.mark.parametrize("latest, profile, expected", [
    ("SC", "zh_TW", ("zh-hans", "choice")),
    ("EN", "zh_CN", ("en", "choice")),
    ("請問幾點關門", "en", ("en", "profile")),
    ("請問幾點關門", "", ("zh-hant", "text")),
])
def test_language_comes_from_choice_then_profile_then_text(world, latest, profile, expected):
    follower = make_follower(account=world["flagship"], language=profile)
    conversation = make_conversation(follower=follower, opened_at=TUESDAY_DAY)
    _say(conversation, latest)

    facts = rules.facts_for(conversation, at=TUESDAY_DAY)

    assert (facts.language, facts.language_source) == expected


def test_facts_read_tags_attributes_and_the_given_text(world):
    follower = make_follower(account=world["flagship"])
    follower.customer.attributes = {"tier": "gold"}
    follower.customer.save()
    follower.tags.add(Tag.objects.create(brand=world["brand"], name="VIP"))
    conversation = make_conversation(follower=follower, opened_at=TUESDAY_DAY)
    _say(conversation, "hello")

    facts = rules.facts_for(conversation, at=TUESDAY_DAY, text="pick-up?")

    assert facts.tag_names == frozenset({"VIP"}) and facts.attributes == {"tier": "gold"}
    assert facts.text == "pick-up?" and facts.account == world["flagship"]
    assert facts.at == TUESDAY_DAY


def test_first_contact_is_the_customers_first_conversation_on_any_account(world):
    first = make_follower(account=world["bund"])
    earlier = make_conversation(follower=first, opened_at=TUESDAY_DAY - timedelta(days=3),
                                status="resolved")
    again = make_follower(account=world["flagship"], customer=first.customer)
    later = make_conversation(follower=again, opened_at=TUESDAY_DAY)
    stranger = make_conversation(account=world["flagship"], opened_at=TUESDAY_DAY)

    assert rules.facts_for(earlier, at=TUESDAY_DAY).first_contact
    assert not rules.facts_for(later, at=TUESDAY_DAY).first_contact
    assert rules.facts_for(stranger, at=TUESDAY_DAY).first_contact


def test_first_contact_without_a_customer_reads_the_followers_conversations(world):
    follower = make_follower(account=world["flagship"])
    follower.customer = None
    follower.save()
    make_conversation(follower=follower, opened_at=TUESDAY_DAY - timedelta(days=1),
                      status="resolved")
    now = make_conversation(follower=follower, opened_at=TUESDAY_DAY)

    assert not rules.facts_for(now, at=TUESDAY_DAY).first_contact


def test_a_batchs_facts_are_each_conversations_facts_read_alone(world):
    """What the engine reads for a chunk of conversations at once (`facts_for_many`) is
    what `facts_for` reads for each: the latest texts (a choice "TC" as far back as
    CHOICE_REACH messages, not further), tags, attributes and first contact by customer
    or by follower."""
    chose = make_conversation(account=world["flagship"], opened_at=TUESDAY_DAY)
    _say(chose, "TC", minutes=1)
    _say(chose, "我想预订机场接机", minutes=2)
    too_far = make_conversation(account=world["flagship"], opened_at=TUESDAY_DAY)
    _say(too_far, "EN", minutes=0)
    for n in range(rules.CHOICE_REACH):
        _say(too_far, "请问几点关门", minutes=n + 1)
    tagged = make_follower(account=world["bund"])
    tagged.tags.add(Tag.objects.create(brand=world["brand"], name="VIP"))
    tagged.customer.attributes = {"tier": "gold"}
    tagged.customer.save()
    make_conversation(follower=tagged, opened_at=TUESDAY_DAY - timedelta(days=2),
                      status="resolved")
    returning = make_conversation(follower=tagged, opened_at=TUESDAY_DAY)
    loner = make_follower(account=world["flagship"])
    loner.customer = None
    loner.save()
    alone = make_conversation(follower=loner, opened_at=TUESDAY_DAY)
    silent = make_conversation(account=world["bund"], opened_at=TUESDAY_DAY)
    conversations = [chose, too_far, returning, alone, silent]
    at = TUESDAY_DAY + timedelta(hours=1)
    # A rule that asks for both (a batch reads them only then: the next test).
    RoutingRule.objects.create(brand=world["brand"], name="Returning VIPs", position=1,
                               first_contact=False, tags=["VIP"],
                               action=RoutingRule.Action.CENTRAL)

    together = rules.facts_for_many(conversations, at=at)

    assert together == {c.pk: rules.facts_for(c, at=at) for c in conversations}
    assert together[chose.pk].language == "zh-hant"
    assert together[too_far.pk].language == "zh-hans"
    assert not together[returning.pk].first_contact
    assert together[returning.pk].tag_names == frozenset({"VIP"})
    assert together[alone.pk].first_contact and together[silent.pk].text == ""


def test_a_batch_reads_tags_and_first_contact_only_when_an_active_rule_asks(world):
    tagged = make_follower(account=world["bund"])
    tagged.tags.add(Tag.objects.create(brand=world["brand"], name="VIP"))
    convo = make_conversation(follower=tagged, opened_at=TUESDAY_DAY)
    _say(convo, "hello", minutes=1)
    at = TUESDAY_DAY + timedelta(hours=1)
    RoutingRule.objects.create(brand=world["brand"], name="Off", position=1, is_active=False,
                               first_contact=True, tags=["VIP"],
                               action=RoutingRule.Action.CENTRAL)
    with CaptureQueriesContext(connection) as queries:
        facts = rules.facts_for_many([convo], at=at)[convo.pk]
    sql = " ".join(q["sql"] for q in queries.captured_queries)
    assert "followers_follower_tags" not in sql and "EXISTS" not in sql
    assert (facts.first_contact, facts.tag_names, facts.text) == (None, frozenset(), "hello")
    RoutingRule.objects.filter(name="Off").update(is_active=True)
    facts = rules.facts_for_many([convo], at=at)[convo.pk]
    assert (facts.first_contact, facts.tag_names) == (True, frozenset({"VIP"}))


def _click(account, openid, key, at, n=[0]):  # noqa: B006
    n[0] += 1
    Inbound.objects.create(brand_id=account.brand_id, account=account,
                           dedupe_key=f"event:{openid}:{n[0]}:CLICK:{key}", msg_type="event",
                           event="CLICK", openid=openid, payload={"EventKey": key},
                           created_time=at)


def test_the_menu_key_is_the_latest_click_around_the_conversation(world):
    follower = make_follower(account=world["flagship"],
                             short_window_opened_at=TUESDAY_DAY - timedelta(minutes=1))
    _click(world["flagship"], follower.openid, "OLD", TUESDAY_DAY - timedelta(hours=2))
    _click(world["flagship"], follower.openid, "PICKUP", TUESDAY_DAY - timedelta(minutes=1))
    _click(world["bund"], follower.openid, "OTHER_ACCOUNT", TUESDAY_DAY)
    conversation = make_conversation(follower=follower, opened_at=TUESDAY_DAY)
    _rule(world, name="menu", menu_keys=["PICKUP"])

    facts = rules.facts_for(conversation, at=TUESDAY_DAY + timedelta(minutes=1))

    assert facts.menu_key == "PICKUP"
    assert rules.decide(facts).team == world["concierge"]
    assert rules.facts_for(conversation, at=TUESDAY_DAY, menu_key="GIVEN").menu_key == "GIVEN"


def test_no_recent_click_no_menu_key(world):
    follower = make_follower(account=world["flagship"],
                             short_window_opened_at=TUESDAY_DAY - timedelta(hours=2))
    _click(world["flagship"], follower.openid, "OLD", TUESDAY_DAY - timedelta(hours=2))
    conversation = make_conversation(follower=follower, opened_at=TUESDAY_DAY)

    assert rules.facts_for(conversation, at=TUESDAY_DAY).menu_key == ""


def test_steps_are_json_clean(world):
    _hours(team=world["local"])
    _rule(world, name="miss", keywords=["x"])

    decision = rules.decide(_facts(world, at=TUESDAY_NIGHT))

    assert json.loads(json.dumps(decision.steps)) == decision.steps
    assert [s["step"] for s in decision.steps] == ["language", "hours", "rule", "fallback",
                                                   "overflow"]
