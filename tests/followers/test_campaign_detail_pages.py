"""A campaign's page (/crm/campaigns/<id>/): its name, channel and counts, its QR codes with
their follows and scans, its retention table and CSV, renaming it, and deleting a code or the
campaign, each behind a confirmation; refusals as messages, agents read only, a foreign
brand's ids 404."""

from __future__ import annotations

import csv
import io
from datetime import timedelta

import pytest
from django.utils import timezone

from followers import campaigns
from followers.models import Campaign, FollowEvent, QRCode
from tests.factories import make_follower, owner_scope

pytestmark = pytest.mark.django_db


def _code(campaign: Campaign, account, scene: str, **fields) -> QRCode:  # noqa: ANN001
    # A code as qrcode_create keeps it (the platform's part is test_campaigns_qrcodes').
    return QRCode.objects.create(brand_id=campaign.brand_id, account=account, campaign=campaign,
                                 kind=fields.pop("kind", "permanent"), scene=scene,
                                 ticket=f"ticket-{scene}", url=f"http://weixin.qq.com/q/{scene}",
                                 **fields)


def _follow(code: QRCode, kind: str = "follow") -> FollowEvent:
    follower = make_follower(account=code.account, qrcode=code)
    return FollowEvent.objects.create(brand_id=code.brand_id, account=code.account,
                                      follower=follower, kind=kind, scene=code.scene,
                                      qrcode=code, at=timezone.now())


@pytest.fixture
def spring(two_brands):
    scope = owner_scope(two_brands["brand_a"])
    campaign = campaigns.campaign_create(scope=scope, name="KOL spring", channel="kol")
    other = campaigns.campaign_create(scope=scope, name="Print flyers", channel="print")
    on_a1 = _code(campaign, two_brands["a1"], "spring-a1")
    on_a2 = _code(campaign, two_brands["a2"], "spring-a2", kind="temporary",
                  expires_at=timezone.now() - timedelta(days=1))
    for _ in range(2):
        _follow(on_a1)
    _follow(on_a1, "scan")
    _follow(on_a2)
    _follow(_code(other, two_brands["a1"], "flyer"))
    return {**two_brands, "campaign": campaign, "other": other, "on_a1": on_a1,
            "on_a2": on_a2}


def _messages(response) -> list[str]:  # noqa: ANN001
    return [str(m) for m in response.context["messages"]]


def test_the_list_links_each_campaign_to_its_page(client, spring):
    client.force_login(spring["admin_a"].user)
    body = client.get("/crm/campaigns/").content.decode()
    assert f'href="/crm/campaigns/{spring["campaign"].pk}/"' in body
    assert f'href="/crm/campaigns/{spring["other"].pk}/"' in body


def test_the_page_shows_counts_codes_and_the_campaigns_report(client, spring):
    client.force_login(spring["admin_a"].user)
    url = f"/crm/campaigns/{spring['campaign'].pk}/"
    response = client.get(url)
    assert response.status_code == 200
    body = response.content.decode()
    assert "KOL spring" in body and 'value="kol" selected' in body
    assert response.context["counts"] == {"follows": 3, "scans": 1, "qrcodes": 2}
    codes = {q.scene: (q.follows, q.scans) for q in response.context["qrcodes"]}
    assert codes == {"spring-a1": (2, 1), "spring-a2": (1, 0)}
    assert "flyer" not in body
    assert f"/crm/campaigns/qrcodes/{spring['on_a1'].pk}.png" in body
    assert f"/crm/campaigns/qrcodes/{spring['on_a2'].pk}/delete/" in body
    assert "(expired)" in body
    # The retention table is this campaign's alone.
    rows = response.context["rows"]
    assert {r.campaign for r in rows} == {"KOL spring"}
    assert response.context["totals"]["gained"] == 3
    csv_link = response.context["csv_query"]
    assert f"campaign={spring['campaign'].pk}" in csv_link and f"?{csv_link}" in body.replace(
        "&amp;", "&")
    report = client.get(f"/crm/campaigns/report.csv?{csv_link}").content.decode()
    names = {row["campaign"] for row in csv.DictReader(io.StringIO(report))}
    assert names == {"KOL spring"}


def test_the_period_counts_the_unfollows_in_it_and_a_bad_one_is_said(client, spring):
    followed = _follow(spring["on_a1"])
    FollowEvent.objects.create(brand_id=followed.brand_id, account=followed.account,
                               follower=followed.follower, kind="unfollow",
                               at=followed.at + timedelta(seconds=5))
    client.force_login(spring["admin_a"].user)
    url = f"/crm/campaigns/{spring['campaign'].pk}/"
    now = client.get(url, {"lost_only": "1"})
    assert [(r.gained, r.unfollowed_in_period) for r in now.context["rows"]] == [(4, 1)]
    assert "lost_only=1" in now.context["csv_query"]
    past = client.get(url, {"from": "2020-01-01", "to": "2020-01-31"})
    assert past.context["totals"]["unfollowed_in_period"] == 0
    assert past.context["totals"]["unfollowed"] == 1
    assert "from=2020-01-01" in past.context["csv_query"]
    assert client.get(url, {"from": "2020-01-01", "to": "2020-01-31",
                            "lost_only": "1"}).context["rows"] == []
    bad = client.get(url, {"from": "2020-02-01", "to": "2020-01-01"})
    assert "The period starts after it ends." in bad.content.decode()
    assert bad.context["totals"]["unfollowed_in_period"] == 1  # the default period, shown


def test_an_admin_renames_it_and_refusals_are_messages(client, spring):
    client.force_login(spring["admin_a"].user)
    campaign = spring["campaign"]
    url = f"/crm/campaigns/{campaign.pk}/"
    saved = client.post(url, {"name": "KOL summer", "channel": "event"}, follow=True)
    assert saved.redirect_chain[-1][0] == url and "Campaign saved." in _messages(saved)
    campaign.refresh_from_db()
    assert (campaign.name, campaign.channel) == ("KOL summer", "event")
    for data, said in [({"name": "  ", "channel": "kol"}, "Give the campaign a name."),
                       ({"name": "Print flyers", "channel": "kol"},
                        "A campaign with this name exists already."),
                       ({"name": "Other", "channel": "radio"}, "Choose one of the channels.")]:
        refused = client.post(url, data, follow=True)
        assert said in _messages(refused), data
    campaign.refresh_from_db()
    assert (campaign.name, campaign.channel) == ("KOL summer", "event")


def test_deleting_a_code_asks_first_and_keeps_the_follows(client, spring):
    client.force_login(spring["admin_a"].user)
    code = spring["on_a1"]
    url = f"/crm/campaigns/qrcodes/{code.pk}/delete/"
    asked = client.get(url)
    assert asked.status_code == 200 and "spring-a1" in asked.content.decode()
    assert QRCode.objects.filter(pk=code.pk).exists()
    gone = client.post(url, follow=True)
    assert gone.redirect_chain[-1][0] == f"/crm/campaigns/{spring['campaign'].pk}/"
    assert "QR code spring-a1 deleted." in _messages(gone)
    assert not QRCode.objects.filter(pk=code.pk).exists()
    assert FollowEvent.objects.filter(scene="spring-a1", qrcode=None).count() == 3
    assert gone.context["counts"]["qrcodes"] == 1


def test_deleting_the_campaign_asks_first_then_goes_to_the_list(client, spring):
    client.force_login(spring["admin_a"].user)
    campaign = spring["campaign"]
    url = f"/crm/campaigns/{campaign.pk}/delete/"
    asked = client.get(url)
    assert asked.status_code == 200 and "Its 2 QR codes go with it" in asked.content.decode()
    gone = client.post(url, follow=True)
    assert gone.redirect_chain[-1][0] == "/crm/campaigns/"
    assert "Campaign KOL spring deleted." in _messages(gone)
    assert not Campaign.objects.filter(pk=campaign.pk).exists()
    assert not QRCode.objects.filter(campaign_id=campaign.pk).exists()
    assert Campaign.objects.filter(pk=spring["other"].pk).exists()


def test_a_manager_cannot_delete_a_campaign_with_codes_beyond_their_accounts(client, spring):
    client.force_login(spring["manager_a"].user)  # serves a1; the campaign has a code on a2
    campaign = spring["campaign"]
    page = client.get(f"/crm/campaigns/{campaign.pk}/")
    assert [q.scene for q in page.context["qrcodes"]] == ["spring-a1"]
    refused = client.post(f"/crm/campaigns/{campaign.pk}/delete/", follow=True)
    assert refused.redirect_chain[-1][0] == f"/crm/campaigns/{campaign.pk}/"
    assert any("QR codes on accounts you do not manage" in m for m in _messages(refused))
    assert Campaign.objects.filter(pk=campaign.pk).exists()
    assert QRCode.objects.filter(campaign=campaign).count() == 2
    # Nor can they reach the code on the account they do not serve.
    assert client.get(f"/crm/campaigns/qrcodes/{spring['on_a2'].pk}/delete/").status_code == 404


def test_an_agent_reads_the_page_but_cannot_change_anything(client, spring):
    client.force_login(spring["agent_a"].user)  # serves a2
    campaign = spring["campaign"]
    url = f"/crm/campaigns/{campaign.pk}/"
    page = client.get(url)
    body = page.content.decode()
    assert page.status_code == 200 and "campaign-edit-form" not in body
    assert "qrcode-delete" not in body and "campaign-delete" not in body
    assert page.context["counts"] == {"follows": 1, "scans": 0, "qrcodes": 1}
    assert client.post(url, {"name": "Hijacked", "channel": "ad"}).status_code == 403
    assert client.get(f"{url}delete/").status_code == 403
    assert client.post(f"{url}delete/").status_code == 403
    own_code = f"/crm/campaigns/qrcodes/{spring['on_a2'].pk}/delete/"
    assert client.get(own_code).status_code == 403
    assert client.post(own_code).status_code == 403
    campaign.refresh_from_db()
    assert campaign.name == "KOL spring" and QRCode.objects.filter(campaign=campaign).count() == 2


def test_a_foreign_brands_campaign_and_code_answer_404(client, spring):
    theirs = campaigns.campaign_create(scope=owner_scope(spring["brand_b"]), name="B launch")
    code = _code(theirs, spring["b1"], "b-launch")
    client.force_login(spring["admin_a"].user)
    for method, url in [("get", f"/crm/campaigns/{theirs.pk}/"),
                        ("post", f"/crm/campaigns/{theirs.pk}/"),
                        ("get", f"/crm/campaigns/{theirs.pk}/delete/"),
                        ("post", f"/crm/campaigns/{theirs.pk}/delete/"),
                        ("get", f"/crm/campaigns/qrcodes/{code.pk}/delete/"),
                        ("post", f"/crm/campaigns/qrcodes/{code.pk}/delete/"),
                        ("get", "/crm/campaigns/999999/")]:
        assert getattr(client, method)(url, {"name": "x"}).status_code == 404, (method, url)
    assert Campaign.objects.get(pk=theirs.pk).name == "B launch"
    assert QRCode.objects.filter(pk=code.pk).exists()


def test_the_page_reads_in_chinese(client, settings, spring):
    client.force_login(spring["admin_a"].user)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "zh-hans"
    body = client.get(f"/crm/campaigns/{spring['campaign'].pk}/").content.decode()
    assert "活动“KOL spring”" in body and "名称和渠道" in body and "已过期" in body
    assert "永久" in body and "临时" in body and "删除活动" in body
    asked = client.get(f"/crm/campaigns/{spring['campaign'].pk}/delete/").content.decode()
    assert "它的 2 个二维码将一并删除" in asked
