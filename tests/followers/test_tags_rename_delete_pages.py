"""Renaming and deleting a tag over REST (409 with WeChat's reason) and on the brand pages
(/crm/tags/<id>/rename/ and /delete/), against the sandbox, in English and Chinese."""

from __future__ import annotations

import pytest
from django.conf import settings

from accounts.services import api_key_create
from followers import tags as tag_services
from followers.models import AccountTag, Follower, Segment, Tag, TagRule
from tests.factories import make_follower
from tests.messaging.callback_support import follow, mirror

pytestmark = pytest.mark.django_db

UPDATE = "/cgi-bin/tags/update"


@pytest.fixture(autouse=True)
def _commit_now(monkeypatch):
    from django.db import transaction

    monkeypatch.setattr(transaction, "on_commit", lambda fn, using=None, robust=False: fn())


@pytest.fixture
def vip(portal_sandbox, two_brands):
    """VIP on both of brand A's accounts (A flagship, A property), one follower each."""
    brand = two_brands["brand_a"]
    tag, _ = tag_services.tag_get_or_create(brand_id=brand.pk, name="VIP")
    for key in ("a1", "a2"):
        account = two_brands[key]
        mirror(portal_sandbox, account)
        follower = make_follower(
            account=account, openid=follow(portal_sandbox, account, push=False)["openid"])
        tag_services.tag_add(tag=tag, followers=[follower])
    assert AccountTag.objects.filter(tag=tag).count() == 2
    return tag


@pytest.fixture
def api(client, two_brands):
    _key, raw = api_key_create(brand=two_brands["brand_a"], name="crm tags")

    def call(method, path, data=None):
        return getattr(client, method)(path, data=data or {}, content_type="application/json",
                                       HTTP_AUTHORIZATION=f"Bearer {raw}")
    return call


def _names_on_wechat(sandbox, account):
    return {t.name for t in sandbox.state.accounts[account.appid].tags}


def _refuse_names(sandbox, account):
    sandbox.control("POST", "/faults", {"kind": "errcode", "errcode": 45157, "path": UPDATE,
                                        "appid": account.appid})


# -- REST -------------------------------------------------------------------------------


def test_rest_rename_reaches_wechat_and_a_refusal_is_409(api, portal_sandbox, two_brands, vip):
    a1, a2 = two_brands["a1"], two_brands["a2"]
    renamed = api("patch", f"/api/v1/tags/{vip.pk}/", {"name": "Gold"})
    assert renamed.status_code == 200 and renamed.json()["name"] == "Gold"
    assert "Gold" in _names_on_wechat(portal_sandbox, a1)
    assert "Gold" in _names_on_wechat(portal_sandbox, a2)
    _refuse_names(portal_sandbox, a2)
    refused = api("put", f"/api/v1/tags/{vip.pk}/", {"name": "Platinum"})
    assert refused.status_code == 409
    assert "A property: WeChat refused the tag name" in refused.json()["detail"]
    assert Tag.objects.get(pk=vip.pk).name == "Gold"
    assert _names_on_wechat(portal_sandbox, a1) == {"Gold"}
    taken = Tag.objects.create(brand=two_brands["brand_a"], name="Silver")
    clash = api("patch", f"/api/v1/tags/{vip.pk}/", {"name": taken.name})
    assert clash.status_code == 400 and "name" in clash.json()


def test_rest_delete_is_409_while_a_rule_adds_it_or_wechat_refuses(api, portal_sandbox,
                                                                  two_brands, vip):
    a2 = two_brands["a2"]
    rule = TagRule.objects.create(brand=two_brands["brand_a"], name="Big spender",
                                  pattern="vip")
    rule.add_tags.add(vip)
    blocked = api("delete", f"/api/v1/tags/{vip.pk}/")
    assert blocked.status_code == 409 and "Big spender" in blocked.json()["detail"]
    rule.add_tags.clear()
    big = AccountTag.objects.get(tag=vip, account=a2).wechat_id
    portal_sandbox.control("PATCH", f"/accounts/{a2.appid}/tags/{big}",
                           {"simulated_fans": 100_000})
    refused = api("delete", f"/api/v1/tags/{vip.pk}/")
    assert refused.status_code == 409
    assert "A property: The tag has more than 100,000 followers" in refused.json()["detail"]
    assert api("get", f"/api/v1/tags/{vip.pk}/").status_code == 200
    portal_sandbox.control("PATCH", f"/accounts/{a2.appid}/tags/{big}", {"simulated_fans": 0})
    assert api("delete", f"/api/v1/tags/{vip.pk}/").status_code == 204
    assert not Tag.objects.filter(pk=vip.pk).exists()
    assert _names_on_wechat(portal_sandbox, a2) == set()


# -- pages ------------------------------------------------------------------------------


def test_the_tags_page_offers_rename_and_delete_to_those_who_may_change_tags(client,
                                                                              two_brands, vip):
    client.force_login(two_brands["admin_a"].user)
    page = client.get("/crm/tags/").content.decode()
    assert f"/crm/tags/{vip.pk}/rename/" in page and f"/crm/tags/{vip.pk}/delete/" in page
    client.force_login(two_brands["agent_a"].user)
    page = client.get("/crm/tags/").content.decode()
    assert "VIP" in page and f"/crm/tags/{vip.pk}/rename/" not in page
    assert client.get(f"/crm/tags/{vip.pk}/rename/").status_code == 403
    assert client.post(f"/crm/tags/{vip.pk}/delete/").status_code == 403
    assert Tag.objects.filter(pk=vip.pk).exists()


def test_the_rename_page_renames_on_wechat_or_says_why_not(client, portal_sandbox,
                                                           two_brands, vip):
    a1, a2 = two_brands["a1"], two_brands["a2"]
    client.force_login(two_brands["manager_a"].user)
    form = client.get(f"/crm/tags/{vip.pk}/rename/").content.decode()
    assert 'value="VIP"' in form and "A flagship, A property" in form
    _refuse_names(portal_sandbox, a2)
    refused = client.post(f"/crm/tags/{vip.pk}/rename/", {"name": "Gold"})
    assert refused.status_code == 200
    body = refused.content.decode()
    assert "keeps its name “VIP”" in body and "A property" in body
    assert Tag.objects.get(pk=vip.pk).name == "VIP"
    assert _names_on_wechat(portal_sandbox, a1) == {"VIP"}
    blank = client.post(f"/crm/tags/{vip.pk}/rename/", {"name": " "})
    assert blank.status_code == 200 and Tag.objects.get(pk=vip.pk).name == "VIP"
    portal_sandbox.control("DELETE", "/faults")
    done = client.post(f"/crm/tags/{vip.pk}/rename/", {"name": "Gold"}, follow=True)
    assert done.redirect_chain[-1][0] == "/crm/tags/"
    assert "Tag “VIP” renamed to “Gold”." in done.content.decode()
    assert Tag.objects.get(pk=vip.pk).name == "Gold"
    assert _names_on_wechat(portal_sandbox, a2) == {"Gold"}


def test_the_delete_page_says_what_goes_and_deletes(client, portal_sandbox, two_brands, vip):
    a1 = two_brands["a1"]
    client.force_login(two_brands["admin_a"].user)
    confirm = client.get(f"/crm/tags/{vip.pk}/delete/").content.decode()
    assert ("Deleting “VIP” removes it from 2 followers and from WeChat on these accounts: "
            "A flagship, A property.") in confirm
    assert 'data-testid="confirm-delete"' in confirm
    assert 'data-testid="tag-delete-segments"' not in confirm
    segment = Segment.objects.create(brand=two_brands["brand_a"], name="Our VIPs",
                                     definition={"tags": {"any": [vip.pk]}})
    Segment.objects.create(brand=two_brands["brand_a"], name="Everyone", definition={})
    confirm = client.get(f"/crm/tags/{vip.pk}/delete/").content.decode()
    assert f"/crm/segments/{segment.pk}/" in confirm and "Everyone" not in confirm
    done = client.post(f"/crm/tags/{vip.pk}/delete/", follow=True)
    assert "Tag “VIP” deleted." in done.content.decode()
    assert not Tag.objects.filter(pk=vip.pk).exists()
    assert _names_on_wechat(portal_sandbox, a1) == set()
    assert not Follower.tags.through.objects.exists()


def test_a_rule_that_adds_the_tag_blocks_the_delete_page(client, two_brands, vip):
    rule = TagRule.objects.create(brand=two_brands["brand_a"], name="Big spender",
                                  pattern="vip")
    rule.add_tags.add(vip)
    client.force_login(two_brands["admin_a"].user)
    confirm = client.get(f"/crm/tags/{vip.pk}/delete/").content.decode()
    assert 'data-testid="tag-delete-blocked"' in confirm and "Big spender" in confirm
    assert f"/crm/tag-rules/{rule.pk}/edit/" in confirm
    assert 'data-testid="confirm-delete"' not in confirm
    refused = client.post(f"/crm/tags/{vip.pk}/delete/", follow=True).content.decode()
    assert "Big spender" in refused and "Change them first." in refused
    assert Tag.objects.filter(pk=vip.pk).exists()


def test_the_pages_render_in_chinese(client, two_brands, vip):
    client.force_login(two_brands["admin_a"].user)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "zh-hans"
    tags = client.get("/crm/tags/").content.decode()
    assert "重命名" in tags
    rename = client.get(f"/crm/tags/{vip.pk}/rename/").content.decode()
    assert "重命名标签“VIP”" in rename and "A flagship, A property" in rename
    confirm = client.get(f"/crm/tags/{vip.pk}/delete/").content.decode()
    assert "删除“VIP”会将其从 2 位粉丝身上移除" in confirm
    assert "Deleting" not in confirm


def test_a_foreign_brands_tag_is_404_on_the_new_pages(client, two_brands, vip):
    foreign = Tag.objects.create(brand=two_brands["brand_b"], name="Theirs")
    client.force_login(two_brands["admin_a"].user)
    for path in (f"/crm/tags/{foreign.pk}/rename/", f"/crm/tags/{foreign.pk}/delete/"):
        assert client.get(path).status_code == 404
        assert client.post(path, {"name": "Mine now"}).status_code == 404
    foreign.refresh_from_db()
    assert foreign.name == "Theirs"
