"""QR campaigns: codes made on the sandbox (temporary, permanent, the scene range, the
expiry, the platform's refusals), the poster PNG, and the REST resources."""

from __future__ import annotations

import io
from datetime import timedelta

import pytest
from django.utils import timezone
from PIL import Image

from accounts.errors import Conflict, InvalidInput, RoleRequired
from accounts.scope import scope_for_membership
from accounts.services import api_key_create
from followers import campaigns
from followers.models import Campaign, CrmRetention, QRCode
from tests.factories import owner_scope
from tests.messaging.callback_support import mirror

pytestmark = pytest.mark.django_db

QR_PATH = "/cgi-bin/qrcode/create"


@pytest.fixture
def wired(portal_sandbox, two_brands):
    a1 = two_brands["a1"]
    a1.verified = True
    a1.save(update_fields=["verified"])
    mirror(portal_sandbox, a1)
    return two_brands


@pytest.fixture
def api(client, two_brands):
    _key, raw = api_key_create(brand=two_brands["brand_a"], name="crm campaigns")

    def call(method, path, data=None, **extra):
        return getattr(client, method)(path, data=data or {}, content_type="application/json",
                                       HTTP_AUTHORIZATION=f"Bearer {raw}", **extra)
    return call


def test_temporary_and_permanent_codes_are_made_on_the_platform(wired, portal_sandbox):
    scope = owner_scope(wired["brand_a"])
    campaign = campaigns.campaign_create(scope=scope, name="KOL spring", channel="kol")
    before = timezone.now()
    temp = campaigns.qrcode_create(scope=scope, campaign=campaign, account=wired["a1"],
                                   kind="temporary", scene="spring-kol", expires_in_days=7)
    assert temp.ticket and temp.url.startswith("http://weixin.qq.com/q/")
    assert before + timedelta(days=7) <= temp.expires_at <= timezone.now() + timedelta(days=7)
    perm = campaigns.qrcode_create(scope=scope, campaign=campaign, account=wired["a1"],
                                   kind="permanent", scene="100000")
    assert perm.expires_at is None
    made = {(c.action_name, c.scene_id, c.scene_str)
            for c in portal_sandbox.state.qrcodes.values()}
    assert ("QR_STR_SCENE", 0, "spring-kol") in made and ("QR_LIMIT_SCENE", 100000, "") in made


def test_the_scene_range_and_expiry_are_checked_before_calling(wired, portal_sandbox):
    scope = owner_scope(wired["brand_a"])
    campaign = campaigns.campaign_create(scope=scope, name="Print", channel="print")
    bad = [("permanent", "100001", None), ("permanent", "0", None),
           ("temporary", "x", 31), ("temporary", "y" * 65, None),
           ("permanent", "ok", 3), ("temporary", "xfer_abc", None)]
    for kind, scene, days in bad:
        with pytest.raises(InvalidInput):
            campaigns.qrcode_create(scope=scope, campaign=campaign, account=wired["a1"],
                                    kind=kind, scene=scene, expires_in_days=days)
    assert not portal_sandbox.state.qrcodes and not QRCode.objects.exists()
    campaigns.qrcode_create(scope=scope, campaign=campaign, account=wired["a1"],
                            kind="permanent", scene="7")
    with pytest.raises(Conflict, match="scene already"):
        campaigns.qrcode_create(scope=scope, campaign=campaign, account=wired["a1"],
                                kind="temporary", scene="7")


def test_the_platforms_refusals_are_clear(wired, portal_sandbox):
    scope = owner_scope(wired["brand_a"])
    campaign = campaigns.campaign_create(scope=scope, name="Ads", channel="ad")
    portal_sandbox.control("PATCH", f"/accounts/{wired['a1'].appid}", {"quotas": {QR_PATH: 0}})
    with pytest.raises(Conflict, match="45009"):
        campaigns.qrcode_create(scope=scope, campaign=campaign, account=wired["a1"],
                                kind="temporary", scene="1")
    # An unverified account cannot make codes: said before calling.
    with pytest.raises(Conflict, match="cannot make QR codes"):
        campaigns.qrcode_create(scope=scope, campaign=campaign, account=wired["a2"],
                                kind="temporary", scene="2")
    agent = scope_for_membership(wired["agent_a"])
    with pytest.raises(RoleRequired):
        campaigns.qrcode_create(scope=agent, campaign=campaign, account=wired["a2"],
                                kind="temporary", scene="3")
    assert not QRCode.objects.exists()


def test_rest_campaigns_codes_png_and_the_retention_setting(wired, api, client):
    made = api("post", "/api/v1/campaigns/", {"name": "Giveaway June", "channel": "giveaway"})
    assert made.status_code == 201, made.content
    cid = made.json()["id"]
    assert api("post", "/api/v1/campaigns/", {"name": "Giveaway June"}).status_code == 409
    assert api("post", "/api/v1/campaigns/", {"name": "x", "colour": 1}).status_code == 400
    code = api("post", "/api/v1/qrcodes/", {"campaign": cid, "account": wired["a1"].pk,
                                            "kind": "permanent", "scene": "42"})
    assert code.status_code == 201, code.content
    assert api("post", "/api/v1/qrcodes/", {"campaign": cid, "account": wired["b1"].pk,
                                            "kind": "permanent", "scene": "43"}
               ).status_code == 404
    over = api("post", "/api/v1/qrcodes/", {"campaign": cid, "account": wired["a1"].pk,
                                            "kind": "permanent", "scene": "100001"})
    assert over.status_code == 400 and "scene" in over.json()
    png = api("get", f"/api/v1/qrcodes/{code.json()['id']}/png/")
    assert png.status_code == 200 and png["Content-Type"] == "image/png"
    image = Image.open(io.BytesIO(png.content))
    assert image.format == "PNG" and image.size == (1200, 1200)
    # The page's download is the same image.
    client.force_login(wired["admin_a"].user)
    page_png = client.get(f"/crm/campaigns/qrcodes/{code.json()['id']}.png")
    assert page_png.content == png.content
    listed = api("get", f"/api/v1/qrcodes/?campaign={cid}").json()
    assert [c["scene"] for c in listed["results"]] == ["42"]
    assert api("patch", f"/api/v1/campaigns/{cid}/", {"channel": "event"}).json()[
        "channel"] == "event"
    assert api("get", "/api/v1/crm-retention/").json()["erase_after_days"] == 30
    changed = api("patch", "/api/v1/crm-retention/", {"erase_after_days": 7})
    assert changed.status_code == 200 and changed.json()["erase_after_days"] == 7
    assert CrmRetention.objects.get(brand=wired["brand_a"]).erase_after_days == 7
    assert api("patch", "/api/v1/crm-retention/", {"erase_after_days": -1}).status_code == 400
    assert api("delete", f"/api/v1/campaigns/{cid}/").status_code == 204
    assert not Campaign.objects.filter(pk=cid).exists() and not QRCode.objects.exists()
