"""The demo's CRM (called by ``seed_demo``; idempotent): customer attributes, brand tags,
QR campaigns with their codes, a few weeks of follows and unfollows through them, and
saved segments, so the CRM pages have something to show before any traffic came in.

The story the retention table tells: a travel KOL's vlog brought a burst of follows to the
flagship 9 to 12 days ago, and 3 days ago, the evening an agency posted for the brand,
most of them left (the Official Account explainer's "108 unfollowers", smaller), with a
few of the spring sale's followers.

The seeded followers live in the portal only: they are history, and seeding makes no
call to the platform (the sandbox is not running while ``seed_demo`` does). So their QR
codes carry no ticket, and tags go on them with the push off (no WeChat tag is made for
them). Their openids start with ``DEMO_OPENID_PREFIX``, which is how ``run_demo`` tells
them from the followers the platform sends. The codes' scenes are the ones the sandbox's
follower simulator scans, so its follows are attributed to these campaigns too.

Running it again adds what is missing and changes nothing else: a follower already
seeded keeps what people did to it since (its tags, its customer's attributes).
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from django.db import transaction
from django.utils import timezone

from accounts.models import Brand, Membership, OfficialAccount, Role
from accounts.scope import Scope, scope_for_membership
from followers import attributes, campaigns, segments
from followers import tags as tag_services
from followers.customers import customer_update
from followers.models import (
    Campaign,
    Customer,
    CustomerActivity,
    CustomerAttribute,
    Follower,
    FollowEvent,
    QRCode,
    Segment,
    Tag,
)

DEMO_OPENID_PREFIX = "oDEMO_"
DEMO_UNIONID_PREFIX = "uDEMO_"
FLAGSHIP, BUND, SANLITUN = "wx1a2b3c4d5e6f7001", "wx1a2b3c4d5e6f7002", "wx1a2b3c4d5e6f7003"
HANGZHOU, STORIES = "wx1a2b3c4d5e6f7004", "wx1a2b3c4d5e6f7005"

# key, label, kind, choices
ATTRIBUTES = [
    ("tier", "Membership tier", CustomerAttribute.Kind.CHOICE, ["gold", "silver", "bronze"]),
    ("birthday", "Birthday", CustomerAttribute.Kind.DATE, []),
    ("points", "Points", CustomerAttribute.Kind.NUMBER, []),
    ("room_preference", "Room preference", CustomerAttribute.Kind.TEXT, []),
]
VIP, ENGLISH, AIRPORT = "VIP", "英文 English", "接机 Airport pick-up"
BUSINESS, FAMILY = "商务 Business", "亲子 Family"
TAGS = [VIP, ENGLISH, AIRPORT, BUSINESS, FAMILY]

KOL, SPRING, EXPO, POSTER = "KOL travel vlog", "Spring sale 2026", "Travel Expo", \
    "Bund lobby poster"
# name, channel, codes (account, scene). The scenes are the sandbox simulator's.
CAMPAIGNS = [
    (KOL, Campaign.Channel.KOL, [(FLAGSHIP, "1001")]),
    (SPRING, Campaign.Channel.AD, [(FLAGSHIP, "spring_sale")]),
    (EXPO, Campaign.Channel.EVENT, [(FLAGSHIP, "expo_2024"), (SANLITUN, "expo_2024")]),
    (POSTER, Campaign.Channel.PRINT, [(BUND, "store_shanghai_01")]),
]

# Anonymous followers: campaign (None: a plain follow), account, how many, follow days
# ago (oldest, newest), unfollows as (how many, days ago).
COHORTS = [
    (KOL, FLAGSHIP, 36, (12, 9), [(22, 3), (2, 6)]),
    (SPRING, FLAGSHIP, 26, (27, 4), [(5, 3), (2, 14)]),
    (EXPO, FLAGSHIP, 12, (18, 17), [(2, 10)]),
    (EXPO, SANLITUN, 12, (18, 17), [(1, 8)]),
    (POSTER, BUND, 16, (21, 1), [(1, 5)]),
    (None, FLAGSHIP, 6, (28, 1), [(1, 3)]),
    (None, BUND, 5, (25, 2), []),
    (None, SANLITUN, 4, (26, 2), [(1, 12)]),
    (None, HANGZHOU, 4, (20, 1), []),
    (None, STORIES, 5, (28, 2), [(1, 3)]),
]
# Customers the front desks know: name, language, region, attributes, tags, follows as
# (account, campaign or None, days ago, unfollowed days ago or None).
PEOPLE = [
    ("王芳", "zh_CN", "Shanghai",
     {"tier": "gold", "points": 12800, "birthday": "1988-05-12",
      "room_preference": "High floor, river view"}, [VIP, BUSINESS],
     [(FLAGSHIP, SPRING, 25, None), (BUND, None, 20, None)]),
    ("Emily Carter", "en", "London",
     {"tier": "gold", "points": 9400, "birthday": "1990-11-03"}, [VIP, ENGLISH, AIRPORT],
     [(FLAGSHIP, EXPO, 18, None), (BUND, POSTER, 16, None)]),
    ("李伟", "zh_CN", "Beijing", {"tier": "silver", "points": 3600}, [BUSINESS, AIRPORT],
     [(SANLITUN, EXPO, 17, None)]),
    ("张敏", "zh_CN", "Hangzhou", {"tier": "bronze", "points": 800, "birthday": "1995-02-20"},
     [FAMILY], [(HANGZHOU, None, 22, None)]),
    ("James Wong", "zh_TW", "Hong Kong", {"tier": "silver", "points": 5200}, [ENGLISH],
     [(FLAGSHIP, None, 26, None), (STORIES, None, 24, None)]),
    ("陈静", "zh_CN", "Shanghai",
     {"tier": "gold", "points": 15200, "birthday": "1983-08-30",
      "room_preference": "Quiet room, away from the lift"}, [VIP, FAMILY],
     [(BUND, None, 27, None), (STORIES, None, 27, None)]),
    ("Sophie Martin", "en", "Paris", {"tier": "silver", "points": 2100}, [ENGLISH, AIRPORT],
     [(BUND, POSTER, 8, None)]),
    ("刘洋", "zh_CN", "Chengdu", {"tier": "bronze", "points": 300}, [],
     [(FLAGSHIP, KOL, 11, None)]),
    ("赵丽", "zh_CN", "Shanghai", {"tier": "bronze", "points": 150}, [],
     [(FLAGSHIP, KOL, 10, 3)]),
    ("黄磊", "zh_CN", "Beijing", {"tier": "gold", "points": 22000, "birthday": "1979-12-01"},
     [VIP, BUSINESS], [(SANLITUN, None, 28, None), (FLAGSHIP, SPRING, 6, None)]),
]
# Followers who already followed scan a code again: campaign, account, how many, days ago.
SCANS = [(POSTER, BUND, 6, 2), (EXPO, FLAGSHIP, 4, 17)]
REGIONS = ["Shanghai", "Shanghai", "Beijing", "Hangzhou", "Guangzhou", "Shenzhen",
           "Chengdu", "Hong Kong", "Singapore"]


def _segments(tag_ids: dict[str, int]) -> list[tuple[str, dict]]:
    return [
        ("VIP guests", {"tags": {"any": [tag_ids[VIP]]}}),
        ("English speakers", {"languages": ["en"]}),
    ]


@dataclass
class _Seeded:
    """One follower to seed: its person, account, profile and history."""

    person: int
    appid: str
    language: str
    region: str
    # (kind, at, campaign name or None), oldest first
    history: list[tuple[str, datetime, str | None]] = field(default_factory=list)
    tags: list[str] = field(default_factory=list)
    name: str = ""
    attributes: dict = field(default_factory=dict)

    @property
    def openid(self) -> str:
        return f"{DEMO_OPENID_PREFIX}{self.appid[-4:]}_{self.person:05d}"

    @property
    def unionid(self) -> str:
        return f"{DEMO_UNIONID_PREFIX}{self.person:05d}"


def platform_followers_exist() -> bool:
    """Whether any follower came from the platform rather than from this seed: the demo's
    first simulated traffic runs until one has (``run_demo``)."""
    return Follower.objects.exclude(openid__startswith=DEMO_OPENID_PREFIX).exists()


def _at(today: date, zone: ZoneInfo, days_ago: int, minute: int) -> datetime:
    day = today - timedelta(days=days_ago)
    return datetime.combine(day, time(minute // 60, minute % 60), tzinfo=zone)


def _plan(today: date, zone: ZoneInfo) -> list[_Seeded]:
    """Every follower to seed with its history: the same list on every run (a fixed
    random seed), dated from ``today``."""
    rng = random.Random(2026)  # noqa: S311 - demo data, not a secret
    plan: list[_Seeded] = []
    person = 0
    for campaign, appid, count, (oldest, newest), unfollows in COHORTS:
        cohort = []
        for _ in range(count):
            person += 1
            language = rng.choices(["zh_CN", "en", "zh_TW"], [70, 22, 8])[0]
            seeded = _Seeded(person=person, appid=appid, language=language,
                             region=rng.choice(REGIONS))
            days = rng.randint(newest, oldest)
            # Follows come in the day, 08:00 to 22:00.
            seeded.history.append(("follow", _at(today, zone, days, rng.randint(480, 1320)),
                                   campaign))
            if language == "en":
                seeded.tags.append(ENGLISH)
            if rng.random() < 0.12:
                seeded.tags.append(AIRPORT)
            if rng.random() < 0.06:
                seeded.tags.append(VIP)
            cohort.append((days, seeded))
        for how_many, days_ago in unfollows:
            # Only those who followed on an earlier day can leave that day; the wave
            # comes in the evening, after the post.
            still = [s for d, s in cohort if d > days_ago and s.history[-1][0] == "follow"]
            for seeded in rng.sample(still, min(how_many, len(still))):
                seeded.history.append(
                    ("unfollow", _at(today, zone, days_ago, rng.randint(1200, 1380)), None))
        plan.extend(s for _d, s in cohort)
    # One who left the spring sale early came back by a plain follow: a new follow on the
    # later date, counted there.
    back = next((s for s in plan if s.history[0][2] == SPRING and len(s.history) == 2
                 and s.history[1][1] < _at(today, zone, 7, 0)), None)
    if back is not None:
        back.history.append(("follow", _at(today, zone, 6, 610), None))
    for name, language, region, values, tags, follows in PEOPLE:
        person += 1
        for appid, campaign, days_ago, left in follows:
            seeded = _Seeded(person=person, appid=appid, language=language, region=region,
                             tags=list(tags), name=name, attributes=values)
            seeded.history.append(("follow", _at(today, zone, days_ago, 600 + person), campaign))
            if left is not None:
                seeded.history.append(("unfollow", _at(today, zone, left, 1290), None))
            plan.append(seeded)
    for campaign, appid, count, days_ago in SCANS:
        # Scans by followers of the account who already followed and still do.
        there = [s for s in plan if s.appid == appid and s.history[-1][0] == "follow"
                 and s.history[-1][1] < _at(today, zone, days_ago, 0)]
        for seeded in rng.sample(there, min(count, len(there))):
            seeded.history.append(("scan", _at(today, zone, days_ago, rng.randint(600, 1200)),
                                   campaign))
            seeded.history.sort(key=lambda h: h[1])
    return plan


def _owner_scope(brand: Brand) -> Scope:
    owner = Membership.objects.filter(brand=brand, role=Role.OWNER).order_by("pk").first()
    if owner is None:
        raise ValueError("the demo brand needs its owner before its CRM")
    return scope_for_membership(owner)


def _seed_attributes(scope: Scope) -> None:
    known = {a.key: a for a in attributes.attribute_list(scope=scope)}
    for position, (key, label, kind, choices) in enumerate(ATTRIBUTES):
        found = known.get(key)
        if found is None:
            attributes.attribute_create(scope=scope, key=key, label=label, kind=kind,
                                        choices=choices or None, position=position)
        elif found.kind == kind and (found.label, found.choices) != (label, choices):
            attributes.attribute_update(scope=scope, attribute=found, label=label,
                                        choices=choices or None)


def _seed_campaigns(scope: Scope, accounts: dict[str, OfficialAccount]
                    ) -> dict[tuple[str, str], QRCode]:
    """The campaigns and their codes, by (campaign name, appid). The codes are made here,
    not on the platform (``campaigns.qrcode_create`` asks WeChat for the ticket, and no
    platform runs while the demo is seeded): permanent, without a ticket, their URL a
    placeholder for the poster."""
    codes: dict[tuple[str, str], QRCode] = {}
    existing = {c.name: c for c in campaigns.campaign_list(scope=scope)}
    for name, channel, placed in CAMPAIGNS:
        campaign = existing.get(name)
        if campaign is None:
            campaign = campaigns.campaign_create(scope=scope, name=name, channel=channel)
        for appid, scene in placed:
            account = accounts.get(appid)
            if account is None:
                continue
            code, _created = QRCode.objects.get_or_create(
                account=account, scene=scene,
                defaults={"brand_id": scope.brand_id, "campaign": campaign,
                          "kind": QRCode.Kind.PERMANENT,
                          "url": f"https://weixin.qq.com/q/demo-{appid[-4:]}-{scene}"})
            codes[(name, appid)] = code
    return codes


def _create_follower(seeded: _Seeded, account: OfficialAccount,
                     codes: dict[tuple[str, str], QRCode]) -> Follower:
    """The follower as its history leaves it, its customer (one per person, by unionid),
    its follow events and the customer's timeline lines."""
    customer, _created = Customer.objects.get_or_create(
        brand_id=account.brand_id, unionid=seeded.unionid, defaults={"name": seeded.name})
    follows = [h for h in seeded.history if h[0] == "follow"]
    last_kind, last_at, _campaign = [h for h in seeded.history if h[0] != "scan"][-1]
    code = codes.get((follows[-1][2], seeded.appid)) if follows[-1][2] else None
    follower = Follower.objects.create(
        brand_id=account.brand_id, account=account, customer=customer, openid=seeded.openid,
        unionid=seeded.unionid, subscribed=last_kind == "follow",
        subscribed_at=follows[-1][1],
        unsubscribed_at=last_at if last_kind == "unfollow" else None,
        subscribe_scene="ADD_SCENE_QR_CODE" if code else "ADD_SCENE_SEARCH",
        qr_scene=code.scene if code else "", qrcode=code, language=seeded.language,
        region=seeded.region, profile_fetched_at=follows[0][1])
    events, lines = [], []
    for kind, at, campaign in seeded.history:
        code = codes.get((campaign, seeded.appid)) if campaign else None
        events.append(FollowEvent(brand_id=account.brand_id, account=account, follower=follower,
                                  kind=kind, scene=code.scene if code else "", qrcode=code,
                                  at=at))
        lines.append(CustomerActivity(brand_id=account.brand_id, customer=customer,
                                      follower=follower, account=account, kind=kind, at=at,
                                      data={"campaign": campaign} if campaign else {}))
    FollowEvent.objects.bulk_create(events)
    CustomerActivity.objects.bulk_create(lines)
    return follower


def _seed_followers(brand: Brand, accounts: dict[str, OfficialAccount],
                    codes: dict[tuple[str, str], QRCode], tags: dict[str, Tag]) -> int:
    """The followers of the plan not seeded yet, with their tags and attributes; answers
    how many were made."""
    zone = ZoneInfo(brand.time_zone)
    plan = [s for s in _plan(timezone.now().astimezone(zone).date(), zone)
            if s.appid in accounts]
    seeded = set(Follower.objects.filter(brand=brand, openid__startswith=DEMO_OPENID_PREFIX)
                 .values_list("openid", flat=True))
    made = 0
    for entry in plan:
        if entry.openid in seeded:
            continue
        follower = _create_follower(entry, accounts[entry.appid], codes)
        made += 1
        first_follow = entry.history[0][1]
        for name in entry.tags:
            # Tagged by an agent an hour after the follow; the push is off (see above).
            tag_services.tag_add(tag=tags[name], followers=[follower], push=False,
                                 at=first_follow + timedelta(hours=1))
        if entry.attributes and not follower.customer.attributes:
            customer_update(customer=follower.customer, by=None,
                            attributes=entry.attributes)
    return made


def _seed_segments(scope: Scope, tags: dict[str, Tag]) -> None:
    existing = {s.name: s for s in segments.segment_list(scope=scope)}
    for name, definition in _segments({name: tag.pk for name, tag in tags.items()}):
        found = existing.get(name)
        if found is None:
            segments.segment_create(scope=scope, name=name, definition=definition)
        elif found.definition != segments.definition_clean(scope=scope,
                                                             definition=definition):
            segments.segment_update(scope=scope, segment=found, definition=definition)


@transaction.atomic
def seed_crm(brand: Brand) -> str:
    """Attributes, tags, campaigns with codes, followers with their history, segments;
    answers a line saying what the brand's CRM holds."""
    scope = _owner_scope(brand)
    accounts = {a.appid: a for a in OfficialAccount.objects.filter(brand=brand)}
    _seed_attributes(scope)
    tags = {name: tag_services.tag_get_or_create(brand_id=brand.pk, name=name)[0]
            for name in TAGS}
    codes = _seed_campaigns(scope, accounts)
    made = _seed_followers(brand, accounts, codes, tags)
    _seed_segments(scope, tags)
    demo = Follower.objects.filter(brand=brand, openid__startswith=DEMO_OPENID_PREFIX)
    return (f"{Campaign.objects.filter(brand=brand).count()} campaigns, "
            f"{Tag.objects.filter(brand=brand).count()} tags, "
            f"{Segment.objects.filter(brand=brand).count()} segments, "
            f"{demo.count()} seeded followers ({made} new)")
