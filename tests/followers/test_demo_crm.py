"""The demo's CRM (`seed_demo` -> followers.demo.seed_crm): the CRM pages have something to
show (a retention table with an unfollow wave, tags on followers, segments that select
someone, customers' attributes), seeding twice changes nothing, and the seeded followers
do not keep the demo's first simulated traffic away."""

from __future__ import annotations

import io
from collections import defaultdict

import pytest
from django.core.management import call_command
from django.db.models import Count

from accounts.models import Brand, Membership, OfficialAccount
from accounts.scope import scope_for_membership
from followers import demo, retention, segments
from followers.api_campaigns import period_of
from followers.campaigns import qrcode_for_scene
from followers.models import (
    AccountTag,
    Campaign,
    Customer,
    CustomerActivity,
    CustomerAttribute,
    Follower,
    FollowEvent,
    QRCode,
    Segment,
    Tag,
    TagSync,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def lumen():  # noqa: ANN201
    call_command("seed_demo", stdout=io.StringIO())
    brand = Brand.objects.get(slug="lumen")
    owner = Membership.objects.get(brand=brand, role="owner")
    return brand, owner


def _snapshot(brand: Brand) -> dict:
    return {
        "campaigns": sorted(Campaign.objects.filter(brand=brand)
                            .values_list("name", "channel")),
        "qrcodes": sorted(QRCode.objects.filter(brand=brand)
                          .values_list("account__appid", "scene", "campaign__name", "ticket")),
        "attributes": sorted(CustomerAttribute.objects.filter(brand=brand)
                             .values_list("key", "kind", "label")),
        "tags": sorted(Tag.objects.filter(brand=brand).annotate(n=Count("followers"))
                       .values_list("name", "n")),
        "followers": Follower.objects.filter(brand=brand).count(),
        "following": Follower.objects.filter(brand=brand, subscribed=True).count(),
        "customers": sorted(Customer.objects.filter(brand=brand)
                            .values_list("unionid", "name", "attributes")),
        "events": sorted(FollowEvent.objects.filter(brand=brand)
                         .values_list("follower__openid", "kind", "at")),
        "activities": CustomerActivity.objects.filter(brand=brand).count(),
        "segments": sorted(Segment.objects.filter(brand=brand)
                           .values_list("name", "last_followers", "counted_at")),
    }


def test_seeding_the_demo_twice_changes_nothing_in_its_crm(lumen):
    brand, _owner = lumen
    first = _snapshot(brand)
    assert first["followers"] > 100 and first["events"] and first["segments"]
    out = io.StringIO()
    call_command("seed_demo", stdout=out)
    assert _snapshot(brand) == first
    assert "(0 new)" in out.getvalue()


def test_the_retention_table_shows_the_campaigns_and_the_unfollow_wave(lumen, client):
    brand, owner = lumen
    scope = scope_for_membership(owner)
    # The page's default period: the last 7 days.
    date_from, date_to = period_of({}, scope=scope)
    rows = retention.retention_table(scope=scope, date_from=date_from, date_to=date_to)
    by_campaign: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for row in rows:
        for key in ("gained", "still_following", "unfollowed", "unfollowed_in_period"):
            by_campaign[row.campaign][key] += getattr(row, key)
    assert {"KOL travel vlog", "Spring sale 2026", "Travel Expo", "Bund lobby poster",
            "No campaign"} <= set(by_campaign)
    assert all(c["gained"] > 0 for c in by_campaign.values())
    kol = by_campaign["KOL travel vlog"]
    # Most of the vlog's followers left, nearly all of them in the period (the wave).
    assert kol["unfollowed"] > kol["still_following"] > 0
    assert kol["unfollowed_in_period"] >= 20
    # The wave is one evening, taking a few of the spring sale's followers with it.
    wave = (FollowEvent.objects.filter(brand=brand, kind="unfollow")
            .values("at__date").annotate(n=Count("pk")).order_by("-n").first())
    assert wave["n"] >= 25
    assert by_campaign["Spring sale 2026"]["unfollowed_in_period"] > 0
    # The same numbers on the page, for the owner.
    client.force_login(owner.user)
    page = client.get("/crm/campaigns/").content.decode()
    assert page.count('data-testid="retention-row"') == len(rows) > 0
    assert "KOL travel vlog" in page and "Bund lobby poster" in page
    # A follow through the sandbox simulator's scenes lands on these campaigns.
    flagship = OfficialAccount.objects.get(appid=demo.FLAGSHIP)
    assert qrcode_for_scene(account_id=flagship.pk, scene="spring_sale").campaign.name == \
        "Spring sale 2026"
    assert qrcode_for_scene(account_id=flagship.pk, scene="1001").campaign.name == \
        "KOL travel vlog"


def test_tags_segments_and_attributes_have_content(lumen, client):
    brand, owner = lumen
    scope = scope_for_membership(owner)
    counts = dict(Tag.objects.filter(brand=brand).annotate(n=Count("followers"))
                  .values_list("name", "n"))
    assert set(counts) == set(demo.TAGS) and all(n > 0 for n in counts.values())
    # The push was off: nothing waits for WeChat, no WeChat tag was made.
    assert not TagSync.objects.exists() and not AccountTag.objects.exists()
    for segment in Segment.objects.filter(brand=brand):
        counted = segments.segment_count(scope=scope, definition=segment.definition)
        assert counted.followers > 0 and segment.last_followers == counted.followers
    vip = Segment.objects.get(brand=brand, name="VIP guests")
    assert segments.segment_members(scope=scope, segment=vip).count() == counts["VIP"] - \
        Follower.objects.filter(brand=brand, tags__name="VIP", subscribed=False).count()
    # One guest across two accounts is one customer, with the brand's attributes.
    emily = Customer.objects.get(brand=brand, name="Emily Carter")
    assert emily.followers.count() == 2
    assert emily.attributes == {"tier": "gold", "points": 9400, "birthday": "1990-11-03"}
    assert set(CustomerAttribute.objects.filter(brand=brand).values_list("key", flat=True)) \
        == {"tier", "birthday", "points", "room_preference"}
    client.force_login(owner.user)
    tags_page = client.get("/crm/tags/").content.decode()
    assert "接机 Airport pick-up" in tags_page and "No tags yet." not in tags_page
    segments_page = client.get("/crm/segments/").content.decode()
    assert "VIP guests" in segments_page and "English speakers" in segments_page
    customer_page = client.get(f"/crm/customers/{emily.pk}/").content.decode()
    assert "Membership tier" in customer_page and "gold" in customer_page
    assert "Bund lobby poster" in customer_page  # the timeline's follow through the poster


def test_the_seeded_followers_leave_the_first_traffic_to_come(lumen):
    brand, _owner = lumen
    assert Follower.objects.filter(brand=brand).exists()
    assert not demo.platform_followers_exist()
    flagship = OfficialAccount.objects.get(appid=demo.FLAGSHIP)
    Follower.objects.create(brand=brand, account=flagship, openid="oAbCdE_platformsent0001")
    assert demo.platform_followers_exist()
