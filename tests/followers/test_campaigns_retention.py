"""The retention table, end to end: the Official Account explainer's case (seed 001).

Agency B replaces Agency A; right after B's first post 108 people unfollow. The table
traces them to the dates and campaigns they came through: 3 on 3 Feb 2018 (no campaign),
10 on 25 May (a Moments ad), 35 on 1 June (the on-site giveaway), 60 on 5 June (Agency
A's KOL campaign). Here every follow and unfollow is pushed by the sandbox (subscribe
with EventKey qrscene_<scene> through codes the portal made there) to the portal's live
callback, at the sandbox's clock set to those 2018 dates.
"""

from __future__ import annotations

import csv
import io
from concurrent.futures import ThreadPoolExecutor
from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest

from accounts.services import api_key_create
from followers import campaigns
from followers.models import Follower, FollowEvent
from followers.retention import retention_table
from tests.factories import make_brand, owner_scope
from tests.messaging.callback_support import connected_account

pytestmark = pytest.mark.django_db(transaction=True)

SHANGHAI = ZoneInfo("Asia/Shanghai")
# follow date -> (campaign or None, followers gained, of whom leave after B's first post)
SEED = {
    date(2018, 2, 3): (None, 4, 3),
    date(2018, 5, 25): ("Moments ad", 12, 10),
    date(2018, 6, 1): ("On-site giveaway", 37, 35),
    date(2018, 6, 5): ("KOL by Agency A", 63, 60),
}
EARLY_LEAVERS = 2  # KOL followers who left before the period (not in its count)
FIRST_POST = date(2018, 7, 2)


def _all(fn, items):  # noqa: ANN001, ANN202
    """The sandbox's users act at once (4 at a time), as a real crowd would; the portal's
    live server takes the pushes concurrently."""
    with ThreadPoolExecutor(max_workers=4) as pool:
        return list(pool.map(fn, items))


def _at(day: date, hour: int) -> float:
    return datetime(day.year, day.month, day.day, hour, tzinfo=SHANGHAI).timestamp()


@pytest.fixture
def platform(sandbox, settings, tmp_path, monkeypatch):
    settings.WECHAT_API_BASE = sandbox.base_url
    settings.MEDIA_ROOT = str(tmp_path)
    # The pushes carry 2018 timestamps (the sandbox's clock); the callback's replay guard
    # (±300 s of our clock) is not what this test is about.
    monkeypatch.setattr("messaging.callback.TIMESTAMP_WINDOW", 10**10)
    return sandbox


def test_the_seeds_108_unfollowers_trace_to_their_campaigns(platform, live_server, client):
    brand = make_brand()
    account = connected_account(platform, live_server, brand=brand, verified=True)
    scope = owner_scope(brand)
    codes = {}
    for name, channel, kind, scene in [("Moments ad", "ad", "permanent", "501"),
                                       ("On-site giveaway", "giveaway", "temporary", "gv-0601"),
                                       ("KOL by Agency A", "kol", "permanent", "kol-a")]:
        campaign = campaigns.campaign_create(scope=scope, name=name, channel=channel)
        codes[name] = campaigns.qrcode_create(scope=scope, campaign=campaign, account=account,
                                              kind=kind, scene=scene)
    appid = account.appid
    ctl = platform.control
    leavers: list[str] = []
    stayers: list[str] = []
    for day, (name, gained, leaving) in SEED.items():
        ctl("POST", "/clock", {"set": _at(day, 10)})
        body = {"ticket": codes[name].ticket} if name else {}
        made = _all(lambda _n, body=body: ctl("POST", f"/accounts/{appid}/followers", body),
                    range(gained))
        assert all(m["push"]["status"] == 200 for m in made), made
        leavers += [m["openid"] for m in made[:leaving]]
        stayers += [m["openid"] for m in made[leaving:]]
    # One follower who already follows scans the KOL code again: a scan, not a follow.
    scanned = ctl("POST", f"/accounts/{appid}/followers/{stayers[-1]}/scan",
                  {"ticket": codes["KOL by Agency A"].ticket})
    assert scanned["push"]["status"] == 200
    # Two KOL followers (beyond the 60) leave in June, before Agency B arrives.
    ctl("POST", "/clock", {"set": _at(date(2018, 6, 20), 9)})
    early = stayers[-EARLY_LEAVERS:]
    for openid in early:
        ctl("POST", f"/accounts/{appid}/followers/{openid}/unfollow", {})
    # Agency B's first post, and the 108 leave over the next two days.
    half = len(leavers) // 2
    for hour, group in ((12, leavers[:half]), (32, leavers[half:])):  # 2 July, 3 July
        ctl("POST", "/clock", {"set": _at(FIRST_POST, 0) + 3600 * hour})
        left = _all(lambda openid: ctl(
            "POST", f"/accounts/{appid}/followers/{openid}/unfollow", {}), group)
        assert all(u["push"]["status"] == 200 for u in left), left

    kol = codes["KOL by Agency A"]
    assert Follower.objects.filter(account=account, qrcode=kol).count() == 63
    assert FollowEvent.objects.filter(qrcode=kol, kind="scan").count() == 1
    # An unfollow carries no scene: the attribution was kept at follow time.
    assert not FollowEvent.objects.filter(kind="unfollow", qrcode__isnull=False).exists()
    counted = campaigns.campaign_counts(scope=scope, campaign=kol.campaign)
    assert (counted["follows"], counted["scans"]) == (63, 1)

    rows = retention_table(scope=scope, date_from=FIRST_POST, date_to=date(2018, 7, 4),
                           lost_only=True)
    table = {(r.follow_date, r.campaign): (r.gained, r.still_following, r.unfollowed,
                                           r.unfollowed_in_period) for r in rows}
    assert table == {
        (date(2018, 2, 3), "No campaign"): (4, 1, 3, 3),
        (date(2018, 5, 25), "Moments ad"): (12, 2, 10, 10),
        (date(2018, 6, 1), "On-site giveaway"): (37, 2, 35, 35),
        (date(2018, 6, 5), "KOL by Agency A"): (63, 1, 62, 60),
    }
    assert sum(r.unfollowed_in_period for r in rows) == 108
    # A period before B's arrival shows only the two early leavers.
    june = retention_table(scope=scope, date_from=date(2018, 6, 10),
                           date_to=date(2018, 6, 30), lost_only=True)
    assert [(r.campaign, r.unfollowed_in_period) for r in june] == [("KOL by Agency A", 2)]

    # The same through REST, as JSON and as CSV, brand-wide and for one campaign.
    _key, raw = api_key_create(brand=brand, name="report")
    auth = {"HTTP_AUTHORIZATION": f"Bearer {raw}"}
    query = "?from=2018-07-02&to=2018-07-04&lost_only=true"
    body = client.get(f"/api/v1/campaign-report/{query}", **auth).json()
    assert body["totals"]["unfollowed_in_period"] == 108
    assert len(body["rows"]) == 4
    one = client.get(f"/api/v1/campaigns/{kol.campaign_id}/report/{query}", **auth).json()
    assert [(r["follow_date"], r["unfollowed_in_period"]) for r in one["rows"]] == [
        ("2018-06-05", 60)]
    exported = client.get(f"/api/v1/campaign-report/{query}&format=csv", **auth)
    assert exported.status_code == 200 and exported["Content-Type"].startswith("text/csv")
    lines = list(csv.DictReader(io.StringIO(exported.content.decode())))
    assert {(r["follow_date"], r["campaign"], r["unfollowed_in_period"]) for r in lines} == {
        ("2018-02-03", "No campaign", "3"), ("2018-05-25", "Moments ad", "10"),
        ("2018-06-01", "On-site giveaway", "35"), ("2018-06-05", "KOL by Agency A", "60")}
    assert client.get("/api/v1/campaign-report/?from=2018-13-01", **auth).status_code == 400
