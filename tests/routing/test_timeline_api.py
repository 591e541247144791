"""A conversation's timeline: routing decisions and transfers merged by time, each with a
sentence in the reader's language; read through the conversation's scope."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from rest_framework.test import APIClient

from routing.models import RoutingDecision, RoutingRule, Transfer
from tests.factories import make_account, make_brand, make_conversation, make_member, make_team

pytestmark = pytest.mark.django_db
SHANGHAI = ZoneInfo("Asia/Shanghai")


def _at(hour: int, minute: int) -> datetime:
    return datetime(2026, 11, 30, hour, minute, tzinfo=SHANGHAI)


def _named(member, name: str):  # noqa: ANN001, ANN202
    member.display_name = name
    member.save(update_fields=["display_name"])
    return member


@pytest.fixture
def world() -> dict:
    brand = make_brand(name="Lumen Hotels")
    flagship = make_account(brand=brand, name="Lumen Booking")
    bund = make_account(brand=brand, name="Bund")
    reservations = make_team(brand=brand, name="Reservations", accounts=[flagship])
    concierge = make_team(brand=brand, name="Concierge", accounts=[bund])
    lily = _named(make_member(brand=brand, accounts=[flagship]), "Lily")
    wang = _named(make_member(brand=brand, accounts=[bund]), "Wang")
    conversation = make_conversation(account=flagship, team=reservations)
    rule = RoutingRule.objects.create(brand=brand, name="Airport pick-up", action="team",
                                      team=concierge)
    rows = [
        # Made out of order on purpose: the timeline orders by time, not by id.
        (Transfer.objects.create(
            brand=brand, conversation=conversation, kind="account", path="relay",
            from_account=flagship, from_team=reservations, from_agent=lily,
            to_account=bund, to_team=concierge, note="guest needs an airport pick-up",
            by=lily, status="accepted", decided_by=wang, decided_at=_at(9, 12)), _at(9, 10)),
        (RoutingDecision.objects.create(
            brand=brand, conversation=conversation, kind="routed", rule=rule,
            rule_name="Airport pick-up", language="zh-hant", account=bund, team=concierge,
            steps=[{"step": "language", "language": "zh-hant", "source": "text"},
                   {"step": "rule", "rule": rule.pk, "name": rule.name, "matched": True}]),
         _at(9, 0)),
        (RoutingDecision.objects.create(
            brand=brand, conversation=conversation, kind="assigned", agent=lily,
            team=reservations,
            steps=[{"step": "assign", "strategy": "least_busy", "load": 1, "capacity": 3}]),
         _at(9, 5)),
        # The transfer's own row tells it: a "transferred" decision is left out.
        (RoutingDecision.objects.create(brand=brand, conversation=conversation,
                                        kind="transferred", team=concierge), _at(9, 10)),
    ]
    for row, at in rows:
        type(row).objects.filter(pk=row.pk).update(created_at=at)
    return {"brand": brand, "conversation": conversation, "lily": lily, "wang": wang,
            "flagship": flagship}


def _timeline(member, conversation, language: str = "en"):  # noqa: ANN001, ANN202
    client = APIClient()
    client.force_login(member.user)
    return client.get(f"/api/v1/conversations/{conversation.pk}/timeline/",
                      HTTP_ACCEPT_LANGUAGE=language)


def test_decisions_and_transfers_in_time_order_with_english_sentences(world) -> None:
    answer = _timeline(world["lily"], world["conversation"])
    assert answer.status_code == 200, answer.content
    entries = answer.json()
    assert [(e["type"], e["kind"]) for e in entries] == [
        ("decision", "routed"), ("decision", "assigned"), ("transfer", "account")]
    assert [e["sentence"] for e in entries] == [
        "Routed by rule “Airport pick-up” to Concierge · Bund (Traditional Chinese, from the "
        "text)",
        "Assigned to Lily (least busy, 1 of 3)",
        "Lily handed it to Concierge · Bund by relay: “guest needs an airport pick-up” — "
        "accepted by Wang",
    ]
    routed, _assigned, transfer = entries
    assert routed["rule"]["name"] == "Airport pick-up"
    # The ownership history: who held it, where it went, why, by which path, how it ended.
    assert transfer["from"]["agent"] == {"id": world["lily"].pk, "name": "Lily"}
    assert transfer["to"]["team"]["name"] == "Concierge"
    assert (transfer["path"], transfer["status"], transfer["note"]) == (
        "relay", "accepted", "guest needs an airport pick-up")
    assert transfer["decided_by"]["name"] == "Wang"


def test_the_sentences_in_simplified_chinese(world) -> None:
    entries = _timeline(world["lily"], world["conversation"], "zh-hans").json()
    assert [e["sentence"] for e in entries] == [
        "按规则“Airport pick-up”分配到 Concierge · Bund（繁体中文，根据消息文字）",
        "分配给 Lily（最空闲，1/3）",
        "Lily 转交给 Concierge · Bund（方式：转达）：“guest needs an airport pick-up”——Wang 已接受",
    ]


def test_a_declined_transfer_says_why(world) -> None:
    Transfer.objects.update(status="declined", decline_reason="no driver tonight")
    entries = _timeline(world["lily"], world["conversation"]).json()
    assert entries[-1]["sentence"].endswith("— declined by Wang: no driver tonight")


def test_outside_the_scope_the_timeline_is_not_found(world) -> None:
    bund_only = make_member(brand=world["brand"], accounts=[make_account(brand=world["brand"])])
    assert _timeline(bund_only, world["conversation"]).status_code == 404
    rival = make_member(brand=make_brand(name="Rival"), role="admin")
    assert _timeline(rival, world["conversation"]).status_code == 404
    assert _timeline(world["lily"], make_conversation(
        account=make_account(brand=rival.brand))).status_code == 404


def test_a_continued_conversation_shows_the_transfer_on_both_sides(world) -> None:
    target = make_conversation(account=world["flagship"])
    Transfer.objects.update(path="continue", status="completed", target_conversation=target)
    on_target = _timeline(world["lily"], target).json()
    assert [e["sentence"] for e in on_target] == [
        "Lily handed it to Concierge · Bund by continuing on the target account: “guest needs "
        "an airport pick-up” — completed"]
    assert on_target == [e for e in _timeline(world["lily"], world["conversation"]).json()
                         if e["type"] == "transfer"]


def test_why_it_went_back_to_the_queue_or_overflowed(world) -> None:
    conversation = world["conversation"]
    RoutingDecision.objects.all().delete()
    Transfer.objects.all().delete()
    central = make_team(brand=world["brand"], name="Central care")
    RoutingDecision.objects.create(
        brand=world["brand"], conversation=conversation, kind="overflowed", team=central,
        steps=[{"step": "overflow", "why": "closed", "waited_minutes": 12}])
    RoutingDecision.objects.create(
        brand=world["brand"], conversation=conversation, kind="requeued", team=central,
        steps=[{"step": "offline", "agent": world["wang"].pk}])
    assert [e["sentence"] for e in _timeline(world["lily"], conversation).json()] == [
        "Overflowed to Central care: the team was closed, after 12 min waiting",
        "Back in the queue of Central care: the agent went offline",
    ]
