"""Segment counts against a brute-force count in Python, on a seeded random dataset of a
few hundred followers over two brands, and many random definitions: every condition, alone
and combined, within a brand admin's scope and an agent's."""

from __future__ import annotations

import random
import re
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone

from accounts.scope import scope_for_membership
from followers import segments
from followers.models import Campaign, Customer, Follower, QRCode, Tag
from tests.factories import make_account, make_brand, make_member, owner_scope

pytestmark = pytest.mark.django_db

SEED = 20261201
LANGUAGES = ["en", "zh_CN", "zh_TW", ""]
REGIONS = ["Shanghai", "shanghai", "Beijing", "Hong Kong", ""]
TIERS = ["gold", "Gold", "silver", "bronze"]
DAY0 = date(2026, 6, 1)


def _attributes(rng: random.Random) -> dict:
    attributes: dict = {}
    if rng.random() < 0.7:
        attributes["tier"] = rng.choice(TIERS)
    if rng.random() < 0.7:
        attributes["score"] = rng.choice([rng.randint(0, 100), str(rng.randint(0, 100)),
                                          "n/a", 12.5])
    if rng.random() < 0.6:
        attributes["birthday"] = rng.choice([
            (DAY0 - timedelta(days=rng.randint(6000, 20000))).isoformat(), "unknown"])
    if rng.random() < 0.3:
        attributes["vip"] = rng.choice([True, False])
    return attributes


@pytest.fixture
def world() -> dict:
    rng = random.Random(SEED)
    brand, other = make_brand(name="Seg A"), make_brand(name="Seg B")
    accounts = [make_account(brand=brand, name=f"A{i}") for i in range(3)]
    foreign = make_account(brand=other, name="B1")
    tags = [Tag.objects.create(brand=brand, name=f"t{i}") for i in range(5)]
    foreign_tag = Tag.objects.create(brand=other, name="t0")
    campaigns = [Campaign.objects.create(brand=brand, name=f"c{i}") for i in range(3)]
    codes = [QRCode.objects.create(brand=brand, account=accounts[i % 3], campaign=c,
                                   kind="permanent", scene=f"s{i}{j}")
             for i, c in enumerate(campaigns) for j in range(2)]
    customers = [Customer.objects.create(brand=brand, attributes=_attributes(rng))
                 for _ in range(180)]
    zone = ZoneInfo(brand.time_zone)
    now = timezone.now()
    rows = []
    for i in range(320):
        account = rng.choice(accounts)
        subscribed_at = datetime.combine(DAY0 - timedelta(days=rng.randint(0, 60)),
                                         datetime.min.time(), tzinfo=zone) + timedelta(
            hours=rng.randint(0, 23), minutes=rng.randint(0, 59))
        inbound = None if rng.random() < 0.25 else (
            now - timedelta(days=rng.randint(0, 90), hours=12))
        rows.append(Follower(
            brand=brand, account=account, openid=f"o_seg_{i:04d}",
            customer=rng.choice(customers) if rng.random() < 0.9 else None,
            subscribed=rng.random() < 0.8, subscribed_at=subscribed_at,
            language=rng.choice(LANGUAGES), region=rng.choice(REGIONS),
            gender=rng.choice([0, 0, 1, 2]), last_inbound_at=inbound,
            qrcode=rng.choice([c for c in codes if c.account_id == account.pk] + [None]),
            unionid=f"u{i % 200}" if rng.random() < 0.5 else ""))
    followers = Follower.objects.bulk_create(rows)
    through = Follower.tags.through
    links = [through(follower_id=f.pk, tag_id=t.pk) for f in followers
             for t in rng.sample(tags, rng.randint(0, 3))]
    through.objects.bulk_create(links)
    # Brand B's followers share the language, region, tag name and campaign of brand A's.
    for i in range(20):
        f = Follower.objects.create(brand=other, account=foreign, openid=f"o_b_{i}",
                                    language="en", region="Shanghai",
                                    subscribed_at=subscribed_at)
        f.tags.add(foreign_tag)
    return {"brand": brand, "accounts": accounts, "tags": tags, "campaigns": campaigns,
            "rng": rng, "zone": zone}


# -- the brute force ---------------------------------------------------------------------

def _text(value: object) -> str | None:
    """What PostgreSQL's ->> gives for a JSON value."""
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _attribute_holds(attributes: dict, condition: dict) -> bool:
    text = _text(attributes.get(condition["key"]))
    if text is None:
        return False
    op, value = condition["op"], condition["value"]
    if op == "eq":
        return text == str(value)
    if op == "contains":
        return value.lower() in text.lower()
    if op in ("gt", "lt"):
        if not re.fullmatch(segments.NUMBER_TEXT, text):
            return False
        return float(text) > value if op == "gt" else float(text) < value
    if not re.match(segments.DATE_TEXT, text):
        return False
    return text[:10] < value if op == "before" else text[:10] > value


def _start(day: str, zone: ZoneInfo) -> datetime:
    return datetime.combine(date.fromisoformat(day), datetime.min.time(), tzinfo=zone)


def _everyone(brand) -> list[tuple[Follower, set[int]]]:  # noqa: ANN001
    """The brand's followers as Python sees them, each with its tag ids, read once."""
    followers = Follower.objects.filter(brand=brand).select_related("customer", "qrcode") \
        .prefetch_related("tags")
    return [(f, {t.pk for t in f.tags.all()}) for f in followers]


def brute_force(*, people: list, definition: dict, zone: ZoneInfo, account_ids=None) -> tuple:  # noqa: ANN001
    d, now = definition, timezone.now()
    selected = []
    for f, tag_ids in people:
        tags = d.get("tags", {})
        checks = [
            account_ids is None or f.account_id in account_ids,
            d.get("include_unfollowed") or f.subscribed,
            not d.get("accounts") or f.account_id in d["accounts"],
            not d.get("languages") or f.language in d["languages"],
            not d.get("regions") or f.region.lower() in {r.lower() for r in d["regions"]},
            not d.get("genders") or f.gender in d["genders"],
            not d.get("campaigns") or (f.qrcode is not None
                                       and f.qrcode.campaign_id in d["campaigns"]),
            not tags.get("any") or bool(tag_ids & set(tags["any"])),
            set(tags.get("all", [])) <= tag_ids,
            not tag_ids & set(tags.get("none", [])),
        ]
        followed = d.get("followed", {})
        if "from" in followed:
            checks.append(f.subscribed_at is not None
                          and f.subscribed_at >= _start(followed["from"], zone))
        if "to" in followed:
            checks.append(f.subscribed_at is not None and f.subscribed_at
                          < _start(followed["to"], zone) + timedelta(days=1))
        activity = d.get("last_activity")
        if activity:
            at, op = f.last_inbound_at, activity["op"]
            if op == "before":
                checks.append(at is not None and at < _start(activity["date"], zone))
            elif op == "after":
                checks.append(at is not None
                              and at >= _start(activity["date"], zone) + timedelta(days=1))
            else:
                recent = at is not None and at >= now - timedelta(days=activity["days"])
                checks.append(recent if op == "within" else not recent)
        if d.get("attributes"):
            checks.append(f.customer is not None and all(
                _attribute_holds(f.customer.attributes, c) for c in d["attributes"]))
        if all(checks):
            selected.append(f)
    return len(selected), len({f.customer_id for f in selected if f.customer_id})


# -- random definitions ------------------------------------------------------------------

def _random_condition(rng: random.Random, world: dict) -> dict:
    tags = [t.pk for t in world["tags"]]
    kind = rng.choice(["tags", "tags", "languages", "regions", "genders", "accounts",
                       "campaigns", "followed", "last_activity", "attributes",
                       "attributes", "include_unfollowed"])
    if kind == "tags":
        return {"tags": {mode: rng.sample(tags, rng.randint(1, 2))
                         for mode in rng.sample(["any", "all", "none"], rng.randint(1, 2))}}
    if kind == "languages":
        return {"languages": rng.sample(["en", "zh_CN", "zh_TW"], rng.randint(1, 2))}
    if kind == "regions":
        return {"regions": rng.sample(["SHANGHAI", "Beijing", "hong kong"], rng.randint(1, 2))}
    if kind == "genders":
        return {"genders": rng.sample([0, 1, 2], rng.randint(1, 2))}
    if kind == "accounts":
        return {"accounts": rng.sample([a.pk for a in world["accounts"]], rng.randint(1, 2))}
    if kind == "campaigns":
        return {"campaigns": rng.sample([c.pk for c in world["campaigns"]], rng.randint(1, 2))}
    if kind == "followed":
        start = DAY0 - timedelta(days=rng.randint(10, 60))
        ends = {"from": start.isoformat(),
                "to": (start + timedelta(days=rng.randint(0, 30))).isoformat()}
        return {"followed": {k: v for k, v in ends.items() if rng.random() < 0.8} or ends}
    if kind == "last_activity":
        op = rng.choice(segments.ACTIVITY_OPS)
        if op in ("within", "not_within"):
            return {"last_activity": {"op": op, "days": rng.randint(1, 60)}}
        day = timezone.localdate() - timedelta(days=rng.randint(1, 80))
        return {"last_activity": {"op": op, "date": day.isoformat()}}
    if kind == "attributes":
        return {"attributes": [rng.choice([
            {"key": "tier", "op": "eq", "value": rng.choice(TIERS)},
            {"key": "tier", "op": "contains", "value": rng.choice(["GOL", "il", "o"])},
            {"key": "score", "op": rng.choice(["gt", "lt"]),
             "value": rng.choice([10, 50, 12.5, 90])},
            {"key": "score", "op": "eq", "value": rng.choice([12.5, "n/a", 42])},
            {"key": "birthday", "op": rng.choice(["before", "after"]),
             "value": rng.choice(["1980-01-01", "1995-06-15", "2010-01-01"])},
            {"key": "vip", "op": "eq", "value": "true"},
        ]) for _ in range(rng.randint(1, 2))]}
    return {"include_unfollowed": True}


def _random_definition(rng: random.Random, world: dict) -> dict:
    definition: dict = {}
    for _ in range(rng.randint(1, 3)):
        definition.update(_random_condition(rng, world))
    return definition


def test_counts_match_a_brute_force_count_for_many_definitions(world):
    rng, scope = world["rng"], owner_scope(world["brand"])
    people = _everyone(world["brand"])
    nonzero = 0
    for _ in range(70):
        definition = segments.definition_clean(scope=scope,
                                               definition=_random_definition(rng, world))
        counted = segments.segment_count(scope=scope, definition=definition)
        expected = brute_force(people=people, definition=definition, zone=world["zone"])
        assert (counted.followers, counted.customers) == expected, definition
        nonzero += counted.followers > 0
    # The definitions select something most of the time: the comparison is not of zeros.
    assert nonzero > 40


def test_each_condition_alone_matches_the_brute_force(world):
    scope = owner_scope(world["brand"])
    people = _everyone(world["brand"])
    tag = world["tags"][0].pk
    singles = [
        {}, {"include_unfollowed": True}, {"tags": {"any": [tag]}}, {"tags": {"all": [tag]}},
        {"tags": {"none": [tag]}}, {"languages": ["en"]}, {"regions": ["shanghai"]},
        {"genders": [1]}, {"accounts": [world["accounts"][0].pk]},
        {"campaigns": [world["campaigns"][0].pk]},
        {"followed": {"from": "2026-05-15"}}, {"followed": {"to": "2026-05-15"}},
        {"last_activity": {"op": "within", "days": 30}},
        {"last_activity": {"op": "not_within", "days": 30}},
        {"attributes": [{"key": "score", "op": "gt", "value": 50}]},
        {"attributes": [{"key": "birthday", "op": "before", "value": "1990-01-01"}]},
    ]
    for definition in singles:
        clean = segments.definition_clean(scope=scope, definition=definition)
        counted = segments.segment_count(scope=scope, definition=clean)
        expected = brute_force(people=people, definition=clean, zone=world["zone"])
        assert (counted.followers, counted.customers) == expected, definition
        assert counted.followers > 0, definition
    # Following only by default: the unfollowed are added only when asked.
    everyone = segments.segment_count(scope=scope, definition={"include_unfollowed": True})
    following = segments.segment_count(scope=scope, definition={})
    assert everyone.followers > following.followers
    assert following.followers == Follower.objects.filter(
        brand=world["brand"], subscribed=True).count()


def test_an_agent_counts_only_the_followers_of_the_accounts_they_serve(world):
    served = world["accounts"][1]
    agent = make_member(brand=world["brand"], role="agent", accounts=[served])
    scope, rng = scope_for_membership(agent), world["rng"]
    people = _everyone(world["brand"])
    for _ in range(15):
        definition = _random_definition(rng, world)
        definition.pop("accounts", None)
        clean = segments.definition_clean(scope=scope, definition=definition)
        counted = segments.segment_count(scope=scope, definition=clean)
        expected = brute_force(people=people, definition=clean, zone=world["zone"],
                               account_ids={served.pk})
        assert (counted.followers, counted.customers) == expected, definition
    every = segments.segment_followers(scope=scope, definition={"include_unfollowed": True})
    assert set(every.values_list("account_id", flat=True)) == {served.pk}
