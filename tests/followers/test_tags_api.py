"""REST and pages of the tags part: tags with per-account status, apply / remove, tag
rules CRUD + move + test, and the brand pages."""

from __future__ import annotations

import pytest

from accounts.services import api_key_create
from followers.models import AccountTag, Tag, TagRule, TagSync
from tests.factories import make_follower

pytestmark = pytest.mark.django_db


@pytest.fixture
def api(client, two_brands):
    _key, raw = api_key_create(brand=two_brands["brand_a"], name="crm tags")

    def call(method, path, data=None):
        return getattr(client, method)(path, data=data or {}, content_type="application/json",
                                       HTTP_AUTHORIZATION=f"Bearer {raw}")
    return call


def test_tags_crud_apply_and_status(api, two_brands, monkeypatch):
    pushed = []
    monkeypatch.setattr("followers.tasks_tags.tags_push_enqueue", pushed.append)
    created = api("post", "/api/v1/tags/", {"name": "VIP"})
    assert created.status_code == 201, created.content
    tag_id = created.json()["id"]
    assert api("post", "/api/v1/tags/", {"name": "x" * 31}).status_code == 400
    follower = make_follower(account=two_brands["a1"])
    applied = api("post", f"/api/v1/tags/{tag_id}/apply/", {"follower_ids": [follower.pk]})
    assert applied.status_code == 200 and applied.json()["changed"] == [follower.pk]
    assert TagSync.objects.get(follower=follower).state == "pending"
    body = api("get", f"/api/v1/tags/{tag_id}/").json()
    a1 = next(a for a in body["accounts"] if a["account_id"] == two_brands["a1"].pk)
    assert a1 == {**a1, "wechat_id": None, "pending": 1, "failed": 0}
    assert body["followers"] == 1
    # By customer: every follower of the customer.
    removed = api("post", f"/api/v1/tags/{tag_id}/remove/",
                  {"customer_ids": [follower.customer_id]})
    assert removed.json()["changed"] == [follower.pk]
    assert not follower.tags.exists()
    assert api("post", f"/api/v1/tags/{tag_id}/apply/", {}).status_code == 400
    assert api("patch", f"/api/v1/tags/{tag_id}/", {"name": "Gold"}).json()["name"] == "Gold"
    assert api("delete", f"/api/v1/tags/{tag_id}/").status_code == 204


def test_a_foreign_or_unserved_follower_is_404(client, api, two_brands):
    tag = Tag.objects.create(brand=two_brands["brand_a"], name="Mine")
    foreign = make_follower(account=two_brands["b1"])
    assert api("post", f"/api/v1/tags/{tag.pk}/apply/",
               {"follower_ids": [foreign.pk]}).status_code == 404
    unserved = make_follower(account=two_brands["a1"])  # the agent serves a2 only
    client.force_login(two_brands["agent_a"].user)
    response = client.post(f"/api/v1/tags/{tag.pk}/apply/", {"follower_ids": [unserved.pk]},
                           content_type="application/json")
    assert response.status_code == 404
    assert not unserved.tags.exists()


def test_tag_rules_crud_move_and_test(api, two_brands):
    made = api("post", "/api/v1/tag-rules/", {
        "name": "English", "match": "exact", "pattern": "EN", "add_tags": ["EN"],
        "set_language": "en", "replies": {"en": "Thanks!"}})
    assert made.status_code == 201, made.content
    assert made.json()["add_tags"] == ["EN"] and made.json()["account"] is None
    second = api("post", "/api/v1/tag-rules/", {
        "name": "Anything E", "match": "regex", "pattern": "^e", "account": two_brands["a1"].pk})
    assert second.status_code == 201, second.content
    bad = api("post", "/api/v1/tag-rules/", {"name": "slow", "match": "regex",
                                             "pattern": "(a+)+$"})
    assert bad.status_code == 400 and "pattern" in bad.json()
    foreign_account = api("post", "/api/v1/tag-rules/", {
        "name": "x", "pattern": "x", "account": two_brands["b1"].pk})
    assert foreign_account.status_code == 400
    assert api("post", "/api/v1/tag-rules/", {"name": "x", "pattern": "x",
                                              "kind": "nope"}).status_code == 400
    tested = api("post", "/api/v1/tag-rules/test/", {"text": "en", "account": two_brands["a1"].pk})
    assert [(r["name"], r["acts"]) for r in tested.json()] == [("English", True),
                                                               ("Anything E", False)]
    moved = api("post", f"/api/v1/tag-rules/{second.json()['id']}/move/", {"direction": "up"})
    assert moved.json()["position"] == 1
    tested = api("post", "/api/v1/tag-rules/test/", {"text": "en", "account": two_brands["a1"].pk})
    assert [r["name"] for r in tested.json() if r["acts"]] == ["Anything E"]
    rule_id = made.json()["id"]
    patched = api("patch", f"/api/v1/tag-rules/{rule_id}/", {"is_active": False})
    assert patched.json()["is_active"] is False and patched.json()["add_tags"] == ["EN"]
    assert api("delete", f"/api/v1/tag-rules/{rule_id}/").status_code == 204
    assert not TagRule.objects.filter(pk=rule_id).exists()


def test_an_agent_may_not_change_rules(client, two_brands):
    client.force_login(two_brands["agent_a"].user)
    response = client.post("/api/v1/tag-rules/", {"name": "x", "pattern": "x"},
                           content_type="application/json")
    assert response.status_code == 403


def test_the_pages_show_status_errors_and_the_tester(client, two_brands, monkeypatch):
    brand, a1 = two_brands["brand_a"], two_brands["a1"]
    tag = Tag.objects.create(brand=brand, name="Spring")
    AccountTag.objects.create(brand=brand, tag=tag, account=a1, wechat_id=101)
    follower = make_follower(account=a1)
    follower.tags.add(tag)
    TagSync.objects.create(brand=brand, account=two_brands["a2"], follower=follower, tag=tag,
                           op="add", state="failed", errcode=45056,
                           reason="This account already has 100 WeChat tags")
    client.force_login(two_brands["admin_a"].user)
    page = client.get("/crm/tags/").content.decode()
    assert "Spring" in page and "WeChat tag 101" in page
    assert "already has 100 WeChat tags" in page
    assert client.post("/crm/tags/", {"name": "Autumn"}).status_code == 302
    pulled = []
    from followers.tasks_tags import tags_pull_task

    monkeypatch.setattr(tags_pull_task, "apply_async", lambda args, **kw: pulled.append(args))
    assert client.post("/crm/tags/pull/").status_code == 302
    assert sorted(pulled) == sorted([(a1.pk,), (two_brands["a2"].pk,)])
    assert Tag.objects.filter(brand=brand, name="Autumn").exists()

    response = client.post("/crm/tag-rules/new/", {
        "name": "English", "kind": "keyword", "match": "exact", "pattern": "EN",
        "add_tags": "EN, English", "set_language": "en", "reply_en": "Thanks!",
        "is_active": "on"})
    assert response.status_code == 302, response.content.decode()[:2000]
    rule = TagRule.objects.get(name="English")
    assert sorted(rule.add_tags.values_list("name", flat=True)) == ["EN", "English"]
    assert rule.replies == {"en": "Thanks!"}
    refused = client.post("/crm/tag-rules/new/", {
        "name": "Slow", "kind": "keyword", "match": "regex", "pattern": "(a+)+$"})
    assert refused.status_code == 200 and "repeat inside a repeat" in refused.content.decode()
    tester = client.get("/crm/tag-rules/", {"text": "en"}).content.decode()
    assert "Rule “English” acts." in tester
    assert client.get(f"/crm/tag-rules/{rule.pk}/edit/").status_code == 200
    assert client.post(f"/crm/tag-rules/{rule.pk}/delete/").status_code == 302
    assert not TagRule.objects.filter(pk=rule.pk).exists()
