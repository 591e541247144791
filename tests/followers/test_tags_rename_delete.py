"""Renaming and deleting a brand tag reach every account's WeChat tag, against the sandbox:
a rename is all or nothing (a refusal puts the renamed accounts back), a pull after it
does not split the tag, and a delete removes what WeChat let it remove."""

from __future__ import annotations

import logging

import pytest

from accounts.errors import Conflict, InvalidInput
from followers import tags as tag_services
from followers.models import AccountTag, CustomerActivity, Follower, Tag, TagRule, TagSync
from tests.factories import make_account, make_brand, make_follower
from tests.followers.sync_support import calls
from tests.messaging.callback_support import follow, mirror

pytestmark = pytest.mark.django_db

UPDATE, DELETE = "/cgi-bin/tags/update", "/cgi-bin/tags/delete"


@pytest.fixture(autouse=True)
def _commit_now(monkeypatch):
    """The tests' transaction never commits: run what waits for the commit at once (the
    push task, eager in tests)."""
    from django.db import transaction

    monkeypatch.setattr(transaction, "on_commit", lambda fn, using=None, robust=False: fn())


@pytest.fixture
def setup(portal_sandbox):
    """A brand with two accounts (A one, then B two by name), each with two followers
    tagged VIP: the tag is on both accounts' WeChat."""
    brand = make_brand()
    accounts, followers = [], {}
    for name in ("A one", "B two"):
        account = make_account(brand=brand, name=name)
        mirror(portal_sandbox, account)
        accounts.append(account)
        followers[account.pk] = [
            make_follower(account=account,
                          openid=follow(portal_sandbox, account, push=False)["openid"])
            for _ in range(2)]
    vip, _ = tag_services.tag_get_or_create(brand_id=brand.pk, name="VIP")
    for rows in followers.values():
        tag_services.tag_add(tag=vip, followers=rows)
    assert AccountTag.objects.filter(tag=vip).count() == 2
    return {"sb": portal_sandbox, "brand": brand, "accounts": accounts,
            "followers": followers, "vip": vip}


def _wechat_names(sb, account):
    return {t.id: t.name for t in sb.state.accounts[account.appid].tags}


def _wechat_id(tag, account):
    return AccountTag.objects.get(tag=tag, account=account).wechat_id


def _fault(sb, account, path, errcode=None, **spec):
    body = {"kind": "errcode", "errcode": errcode, "path": path, "appid": account.appid}
    if errcode is None:
        body = {"kind": "http_500", "path": path, "appid": account.appid}
    sb.control("POST", "/faults", {**body, **spec})


def _carriers(sb, account, wechat_id):
    return {f.openid for f in sb.state.account_followers(account.appid)
            if wechat_id in f.tagids}


# -- renaming ---------------------------------------------------------------------------


def test_a_rename_reaches_every_accounts_wechat_tag(setup, caplog):
    sb, vip = setup["sb"], setup["vip"]
    first = setup["accounts"][0]
    ids_before = _wechat_names(sb, first)
    caplog.set_level(logging.INFO, logger="followers.tags")
    tag_services.tag_rename(tag=vip, name=" Gold ")
    assert Tag.objects.get(pk=vip.pk).name == "Gold"
    for account in setup["accounts"]:
        assert _wechat_names(sb, account)[_wechat_id(vip, account)] == "Gold"
    assert set(_wechat_names(sb, first)) == set(ids_before)  # renamed there, not made anew
    assert "tag renamed" in caplog.text


def test_a_refusal_on_one_account_puts_the_others_back_and_keeps_the_name(setup, caplog):
    sb, vip = setup["sb"], setup["vip"]
    first, second = setup["accounts"]
    _fault(sb, second, UPDATE, 45157)
    with pytest.raises(Conflict) as refused:
        tag_services.tag_rename(tag=vip, name="Gold")
    message = refused.value.message
    assert "B two" in message and "WeChat refused the tag name" in message
    assert "A one" not in message and "“VIP”" in message
    assert Tag.objects.get(pk=vip.pk).name == "VIP" and vip.name == "VIP"
    # The first account was renamed, then given its old name back.
    assert calls(sb, UPDATE, first.appid, ok=True) == 2
    assert _wechat_names(sb, first)[_wechat_id(vip, first)] == "VIP"
    assert _wechat_names(sb, second)[_wechat_id(vip, second)] == "VIP"
    assert AccountTag.objects.filter(tag=vip).count() == 2
    assert "tag rename refused on the account" in caplog.text


def test_every_refusing_account_is_named(setup):
    sb, vip = setup["sb"], setup["vip"]
    first, second = setup["accounts"]
    _fault(sb, first, UPDATE, 45158)
    _fault(sb, second, UPDATE, 45058)
    with pytest.raises(Conflict) as refused:
        tag_services.tag_rename(tag=vip, name="Gold")
    message = refused.value.message
    assert "A one: A tag name has at most 30 characters." in message
    assert "B two: WeChat's system tags cannot be changed." in message
    assert Tag.objects.get(pk=vip.pk).name == "VIP"


def test_wechat_not_answering_refuses_and_puts_back_what_may_have_changed(setup, caplog):
    sb, vip = setup["sb"], setup["vip"]
    first, second = setup["accounts"]
    _fault(sb, second, UPDATE, count=3)  # HTTP 500 through the client's three attempts
    with pytest.raises(Conflict, match="B two: WeChat did not answer"):
        tag_services.tag_rename(tag=vip, name="Gold")
    assert Tag.objects.get(pk=vip.pk).name == "VIP"
    assert _wechat_names(sb, first)[_wechat_id(vip, first)] == "VIP"
    assert "not reverted" not in caplog.text


def test_an_old_name_that_cannot_be_put_back_is_said_and_logged(setup, caplog):
    sb, vip = setup["sb"], setup["vip"]
    first, second = setup["accounts"]
    _fault(sb, second, UPDATE, 45157)
    # The first account takes the new name, then does not answer when given the old one.
    seen = []
    from wechat.client.users import TagApi

    real = TagApi.tag_update

    def update(self, tag_id, name):
        seen.append(name)
        if name == "VIP":
            from wechat.errors import TransportError

            raise TransportError("connection reset", maybe_sent=True)
        return real(self, tag_id, name)

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(TagApi, "tag_update", update)
        with pytest.raises(Conflict) as refused:
            tag_services.tag_rename(tag=vip, name="Gold")
    assert seen == ["Gold", "Gold", "VIP"]
    assert _wechat_names(sb, first)[_wechat_id(vip, first)] == "Gold"
    assert "could not be put back on WeChat on A one" in refused.value.message
    assert Tag.objects.get(pk=vip.pk).name == "VIP"
    assert "tag rename not reverted on the account" in caplog.text


def test_a_pull_after_a_rename_does_not_split_the_tag(setup):
    vip = setup["vip"]
    tag_services.tag_rename(tag=vip, name="Gold")
    for account in setup["accounts"]:
        report = tag_services.tags_pull_account(account_id=account.pk)
        assert report.brand_tags_created == []
    assert list(Tag.objects.filter(brand=setup["brand"]).values_list("name", flat=True)) == [
        "Gold"]
    assert AccountTag.objects.filter(tag=vip).count() == 2
    tagged = Follower.objects.filter(tags=vip).count()
    assert tagged == 4


def test_a_name_taken_in_the_brand_is_refused_before_wechat(setup):
    sb, vip = setup["sb"], setup["vip"]
    Tag.objects.create(brand=setup["brand"], name="Gold")
    with pytest.raises(InvalidInput, match="already"):
        tag_services.tag_rename(tag=vip, name="Gold")
    assert all("Gold" not in _wechat_names(sb, a).values() for a in setup["accounts"])


def test_a_mapping_wechat_forgot_is_dropped_on_rename(setup):
    sb, vip = setup["sb"], setup["vip"]
    first, second = setup["accounts"]
    state = sb.state.accounts[second.appid]
    state.tags[:] = [t for t in state.tags if t.id != _wechat_id(vip, second)]
    tag_services.tag_rename(tag=vip, name="Gold")
    assert Tag.objects.get(pk=vip.pk).name == "Gold"
    assert list(AccountTag.objects.filter(tag=vip).values_list("account_id", flat=True)) == [
        first.pk]


# -- deleting ---------------------------------------------------------------------------


def test_delete_removes_the_wechat_tags_and_the_brand_tag(setup, announced, caplog):
    sb, vip, brand = setup["sb"], setup["vip"], setup["brand"]
    caplog.set_level(logging.INFO, logger="followers.tags")
    ids = {a.pk: _wechat_id(vip, a) for a in setup["accounts"]}
    remover = TagRule.objects.create(brand=brand, name="Unsubscribe VIP", pattern="stop")
    remover.remove_tags.add(vip)
    # A change still waiting, on an account the tag was never made on.
    third = make_account(brand=brand, name="C three")
    waiting = make_follower(account=third)
    tag_services.tag_add(tag=vip, followers=[waiting], push=False)
    TagSync.objects.create(brand=brand, account=third, follower=waiting, tag=vip, op="add")
    announced.clear()

    tag_services.tag_delete(tag=vip)

    for account in setup["accounts"]:
        assert ids[account.pk] not in _wechat_names(sb, account)
        assert not _carriers(sb, account, ids[account.pk])
    assert not Tag.objects.filter(pk=vip.pk).exists()
    assert not AccountTag.objects.exists() and not TagSync.objects.exists()
    assert not Follower.tags.through.objects.exists()
    assert TagRule.objects.filter(pk=remover.pk).exists() and not remover.remove_tags.exists()
    assert CustomerActivity.objects.filter(kind="tag_removed", data__tag="VIP").count() == 5
    removed = [payload for name, payload in announced if name == "tag.removed"]
    assert sorted(i for p in removed for i in p["follower_ids"]) == sorted(
        Follower.objects.values_list("pk", flat=True))
    assert "tag deleted" in caplog.text


def test_a_tag_wechat_no_longer_has_counts_as_deleted(setup):
    sb, vip = setup["sb"], setup["vip"]
    second = setup["accounts"][1]
    state = sb.state.accounts[second.appid]
    state.tags[:] = [t for t in state.tags if t.id != _wechat_id(vip, second)]
    tag_services.tag_delete(tag=vip)
    assert not Tag.objects.filter(pk=vip.pk).exists()


def test_a_45057_refusal_keeps_the_tag_with_the_remaining_mapping(setup, caplog):
    sb, vip = setup["sb"], setup["vip"]
    first, second = setup["accounts"]
    big = _wechat_id(vip, second)
    sb.control("PATCH", f"/accounts/{second.appid}/tags/{big}", {"simulated_fans": 100_000})
    gone = _wechat_id(vip, first)
    with pytest.raises(Conflict) as refused:
        tag_services.tag_delete(tag=vip)
    message = refused.value.message
    assert "B two: The tag has more than 100,000 followers on WeChat" in message
    assert "gone from WeChat on A one" in message
    assert Tag.objects.filter(pk=vip.pk).exists()
    assert list(AccountTag.objects.filter(tag=vip).values_list("account_id", flat=True)) == [
        second.pk]
    assert gone not in _wechat_names(sb, first) and big in _wechat_names(sb, second)
    # The first account's followers lost it with WeChat's tag; the second's keep it.
    assert set(Follower.objects.filter(tags=vip).values_list("account_id", flat=True)) == {
        second.pk}
    assert len(_carriers(sb, second, big)) == 2
    assert "tag delete refused on the account" in caplog.text
    # Once WeChat lets it (untagged there), asking again finishes the job.
    sb.control("PATCH", f"/accounts/{second.appid}/tags/{big}", {"simulated_fans": 0})
    tag_services.tag_delete(tag=vip)
    assert not Tag.objects.filter(pk=vip.pk).exists()
    assert big not in _wechat_names(sb, second)


def test_a_rule_that_adds_the_tag_blocks_the_delete(setup):
    sb, vip, brand = setup["sb"], setup["vip"], setup["brand"]
    rule = TagRule.objects.create(brand=brand, name="Big spender", pattern="vip")
    rule.add_tags.add(vip)
    with pytest.raises(Conflict, match="Big spender"):
        tag_services.tag_delete(tag=vip)
    assert Tag.objects.filter(pk=vip.pk).exists()
    assert AccountTag.objects.filter(tag=vip).count() == 2
    for account in setup["accounts"]:
        assert _wechat_id(vip, account) in _wechat_names(sb, account)
    assert Follower.objects.filter(tags=vip).count() == 4


def test_a_push_waiting_on_a_deleted_tag_makes_nothing_on_wechat(portal_sandbox):
    brand = make_brand()
    account = make_account(brand=brand)
    mirror(portal_sandbox, account)
    follower = make_follower(account=account,
                             openid=follow(portal_sandbox, account, push=False)["openid"])
    tag, _ = tag_services.tag_get_or_create(brand_id=brand.pk, name="Soon gone")
    tag_services.tag_add(tag=tag, followers=[follower], push=False)
    TagSync.objects.create(brand=brand, account=account, follower=follower, tag=tag, op="add")
    report = tag_services.PushReport()
    stale = Tag.objects.get(pk=tag.pk)
    Tag.objects.filter(pk=tag.pk).delete()
    from accounts.wechat_clients import client_for

    assert tag_services._ensure_account_tag(client_for(account), account, stale,
                                            report) is None
    assert not portal_sandbox.state.accounts[account.appid].tags
