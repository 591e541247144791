"""Keyword rules (exact / contains / regex, per account or brand-wide, safe patterns) and
behaviour rules (set-based, on the timeline)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from accounts.errors import InvalidInput
from accounts.models import Role
from accounts.scope import Scope
from followers.models import Campaign, Customer, CustomerActivity, QRCode, Tag
from followers.tag_rules import (
    behaviour_rules_evaluate,
    keyword_rule_first,
    regex_error,
    rules_test,
    tag_rule_move,
    tag_rule_save,
)
from messaging.models import Inbound, Message
from tests.factories import make_account, make_brand, make_conversation, make_follower

pytestmark = pytest.mark.django_db


@pytest.fixture
def world():
    brand = make_brand()
    return {"brand": brand, "a1": make_account(brand=brand), "a2": make_account(brand=brand),
            "scope": Scope(brand=brand, role=Role.ADMIN)}


def _rule(world, **data):
    data.setdefault("name", data.get("pattern", "rule"))
    return tag_rule_save(scope=world["scope"], data=data)


def test_exact_contains_and_regex_ignore_case(world):
    b = world["brand"].pk
    _rule(world, match="exact", pattern="EN", add_tags=["English"])
    _rule(world, match="contains", pattern="price", add_tags=["Price asked"])
    _rule(world, match="regex", pattern=r"^order\s*#?\d{6}$", add_tags=["Order"])
    first = lambda text: getattr(keyword_rule_first(brand_id=b, account_id=None, text=text),  # noqa: E731
                                 "pattern", None)
    assert first(" en ") == "EN"
    assert first("english please") is None  # exact means exact
    assert first("What is the PRICE?") == "price"
    assert first("ORDER #123456") == r"^order\s*#?\d{6}$"
    assert first("order 12345") is None


def test_per_account_rules_apply_on_their_account_only(world):
    b = world["brand"].pk
    _rule(world, match="exact", pattern="menu", account_id=world["a1"].pk, add_tags=["A1"])
    assert keyword_rule_first(brand_id=b, account_id=world["a1"].pk, text="MENU")
    assert keyword_rule_first(brand_id=b, account_id=world["a2"].pk, text="MENU") is None
    _rule(world, match="exact", pattern="menu", add_tags=["Everyone"])
    assert keyword_rule_first(brand_id=b, account_id=world["a2"].pk, text="menu").pattern == "menu"


def test_the_first_rule_by_position_acts_and_move_changes_it(world):
    one = _rule(world, name="one", match="contains", pattern="hi")
    two = _rule(world, name="two", match="contains", pattern="hi there")
    rows = rules_test(scope=world["scope"], text="hi there")
    assert [(r["name"], r["matches"], r["acts"]) for r in rows] == [
        ("one", True, True), ("two", True, False)]
    tag_rule_move(scope=world["scope"], rule=two, direction="up")
    rows = rules_test(scope=world["scope"], text="hi there")
    assert [r["name"] for r in rows if r["acts"]] == ["two"]
    one.refresh_from_db()
    assert one.position == 2


@pytest.mark.parametrize("pattern", [r"(a+)+$", r"(a|aa)*b", r"(.*)*x", r"(\w+\s?)+$",
                                     r"(x)\1"])
def test_catastrophic_patterns_are_refused_with_the_reason(world, pattern):
    assert regex_error(pattern)
    with pytest.raises(InvalidInput) as caught:
        _rule(world, match="regex", pattern=pattern)
    assert "pattern" in caught.value.fields


def test_a_bad_or_long_pattern_is_refused(world):
    assert "valid" in regex_error("(unclosed")
    assert "200" in regex_error("a" * 201)
    assert regex_error(r"^(tc|sc|en)$") == ""


def test_a_reply_needs_known_languages_and_only_keyword_rules_reply(world):
    with pytest.raises(InvalidInput) as caught:
        _rule(world, match="exact", pattern="x", replies={"fr": "Bonjour"})
    assert "replies" in caught.value.fields
    with pytest.raises(InvalidInput) as caught:
        _rule(world, kind="behaviour", behaviour="inactive", days=3, reply_text="hi")
    assert "reply_text" in caught.value.fields


# -- behaviour ---------------------------------------------------------------------------


def test_campaign_rule_tags_the_followers_it_brought(world):
    campaign = Campaign.objects.create(brand=world["brand"], name="KOL May")
    code = QRCode.objects.create(brand=world["brand"], account=world["a1"], campaign=campaign,
                                 kind="permanent", scene="kol-may")
    came = [make_follower(account=world["a1"], qrcode=code) for _ in range(3)]
    other = make_follower(account=world["a1"])
    rule = _rule(world, kind="behaviour", behaviour="campaign", campaign_id=campaign.pk,
                 add_tags=["From KOL"])
    tag = Tag.objects.get(name="From KOL")
    assert behaviour_rules_evaluate(brand_id=world["brand"].pk) == 3
    assert set(tag.followers.all()) == set(came)
    assert not other.tags.exists()
    line = CustomerActivity.objects.filter(kind="tag_added").first()
    assert line.data["rule"] == rule.pk and line.data["tag"] == "From KOL"
    # Evaluated again: nothing new to do (set-based, idempotent).
    assert behaviour_rules_evaluate(brand_id=world["brand"].pk) == 0


def test_behaviour_evaluation_is_set_based(world, django_assert_max_num_queries):
    campaign = Campaign.objects.create(brand=world["brand"], name="Print")
    code = QRCode.objects.create(brand=world["brand"], account=world["a1"], campaign=campaign,
                                 kind="permanent", scene="print")
    small = [make_follower(account=world["a1"], qrcode=code) for _ in range(2)]
    _rule(world, kind="behaviour", behaviour="campaign", campaign_id=campaign.pk,
          add_tags=["Print"])
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as few:
        behaviour_rules_evaluate(brand_id=world["brand"].pk)
    Tag.objects.get(name="Print").followers.clear()
    small += [make_follower(account=world["a1"], qrcode=code) for _ in range(40)]
    with CaptureQueriesContext(connection) as many:
        assert behaviour_rules_evaluate(brand_id=world["brand"].pk) == 42
    assert len(many) == len(few)


def test_inactive_and_multi_account_rules(world):
    now = timezone.now()
    quiet = make_follower(account=world["a1"], window_at=now - timedelta(days=40))
    busy = make_follower(account=world["a1"], window_at=now - timedelta(days=1))
    person = Customer.objects.create(brand=world["brand"])
    both = [make_follower(account=world["a1"], customer=person),
            make_follower(account=world["a2"], customer=person)]
    _rule(world, kind="behaviour", behaviour="inactive", days=30, add_tags=["Dormant"])
    _rule(world, kind="behaviour", behaviour="multi_account", add_tags=["Multi"])
    behaviour_rules_evaluate(brand_id=world["brand"].pk)
    assert list(Tag.objects.get(name="Dormant").followers.all()) == [quiet]
    assert set(Tag.objects.get(name="Multi").followers.all()) == set(both)
    assert not busy.tags.exists()


def test_messages_and_menu_click_rules_read_messaging(world):
    chatty = make_follower(account=world["a1"])
    conversation = make_conversation(follower=chatty)
    for i in range(3):
        Message.objects.create(brand=world["brand"], conversation=conversation,
                               account=world["a1"], direction="in", content=f"m{i}")
    calm = make_conversation(account=world["a1"])
    Message.objects.create(brand=world["brand"], conversation=calm, account=world["a1"],
                           direction="in", content="once")
    clicker = make_follower(account=world["a1"])
    Inbound.objects.create(brand=world["brand"], account=world["a1"], dedupe_key="c1",
                           msg_type="event", event="CLICK", openid=clicker.openid,
                           payload={"EventKey": "V1001_PROMO"}, created_time=timezone.now())
    _rule(world, kind="behaviour", behaviour="messages", count=3, days=7, add_tags=["Chatty"])
    _rule(world, kind="behaviour", behaviour="menu_click", menu_key="V1001_PROMO",
          add_tags=["Promo"])
    behaviour_rules_evaluate(brand_id=world["brand"].pk)
    assert list(Tag.objects.get(name="Chatty").followers.all()) == [chatty]
    assert list(Tag.objects.get(name="Promo").followers.all()) == [clicker]
