"""Brand tags <-> WeChat tags against the sandbox: on-demand creation, batches of 50,
the platform's limits (the sandbox's errcodes), and the pull back."""

from __future__ import annotations

import pytest

from followers import tags as tag_services
from followers.models import AccountTag, CustomerActivity, Follower, Tag, TagSync
from tests.factories import make_account, make_brand, make_follower
from tests.messaging.callback_support import follow, mirror
from wechat.sandbox.state import Tag as SandboxTag

pytestmark = pytest.mark.django_db


@pytest.fixture
def brand():
    return make_brand()


@pytest.fixture(autouse=True)
def _commit_now(monkeypatch):
    """The tests' transaction never commits: run what waits for the commit at once (the
    push task, eager in tests)."""
    from django.db import transaction

    monkeypatch.setattr(transaction, "on_commit", lambda fn, using=None, robust=False: fn())


def _account(sandbox, brand):
    account = make_account(brand=brand)
    mirror(sandbox, account)
    return account


def _followers(sandbox, account, n):
    out = []
    for _ in range(n):
        openid = follow(sandbox, account, push=False)["openid"]
        out.append(make_follower(account=account, openid=openid))
    return out


def _sandbox_tag_ids(sandbox, account, openid):
    follower = next(f for f in sandbox.state.account_followers(account.appid)
                    if f.openid == openid)
    return list(follower.tagids)


def test_tagging_creates_the_tag_on_demand_and_batches_by_50(portal_sandbox, brand, caplog):
    account = _account(portal_sandbox, brand)
    followers = _followers(portal_sandbox, account, 120)
    vip, _ = tag_services.tag_get_or_create(brand_id=brand.pk, name="VIP")
    seen = []
    with pytest.MonkeyPatch.context() as mp:
        from wechat.client.users import TagApi

        real = TagApi.tag_add_users

        def spy(self, tag_id, openids):
            seen.append(len(openids))
            return real(self, tag_id, openids)

        mp.setattr(TagApi, "tag_add_users", spy)
        added = tag_services.tag_add(tag=vip, followers=followers)
    assert len(added) == 120
    mapped = AccountTag.objects.get(tag=vip, account=account)
    on_wechat = {t.name: t.id for t in portal_sandbox.state.accounts[account.appid].tags}
    assert on_wechat["VIP"] == mapped.wechat_id
    assert seen == [50, 50, 20]
    assert all(mapped.wechat_id in _sandbox_tag_ids(portal_sandbox, account, f.openid)
               for f in followers)
    assert not TagSync.objects.exists()
    assert CustomerActivity.objects.filter(kind="tag_added").count() == 120
    # Removing goes to WeChat too.
    tag_services.tag_remove(tag=vip, followers=followers[:3])
    assert mapped.wechat_id not in _sandbox_tag_ids(portal_sandbox, account, followers[0].openid)
    assert mapped.wechat_id in _sandbox_tag_ids(portal_sandbox, account, followers[3].openid)
    assert CustomerActivity.objects.filter(kind="tag_removed").count() == 3


def test_an_account_at_100_tags_keeps_the_portal_tag_flagged_with_the_reason(
        portal_sandbox, brand, caplog):
    account = _account(portal_sandbox, brand)
    state = portal_sandbox.state.accounts[account.appid]
    # 100 tags made on WeChat outside the portal: the portal does not know them yet, so
    # WeChat's own answer (45056) is what tells.
    state.tags.extend(SandboxTag(id=200 + i, name=f"outside {i}") for i in range(100))
    (follower,) = _followers(portal_sandbox, account, 1)
    new, _ = tag_services.tag_get_or_create(brand_id=brand.pk, name="Spring 2026")
    tag_services.tag_add(tag=new, followers=[follower])
    assert new in follower.tags.all()
    row = TagSync.objects.get(follower=follower, tag=new)
    assert row.state == "failed" and row.errcode == 45056
    assert "100 WeChat tags" in row.reason
    assert not AccountTag.objects.filter(tag=new).exists()
    assert "tag refused on the account" in caplog.text
    status = tag_services.tag_account_status(tag=new)
    assert status[0]["failed"] == 1 and "100 WeChat tags" in status[0]["error"]


def test_the_portal_checks_its_own_100_before_calling(portal_sandbox, brand):
    account = _account(portal_sandbox, brand)
    for i in range(100):
        tag = Tag.objects.create(brand=brand, name=f"t{i}")
        AccountTag.objects.create(brand=brand, tag=tag, account=account, wechat_id=1000 + i)
    (follower,) = _followers(portal_sandbox, account, 1)
    extra, _ = tag_services.tag_get_or_create(brand_id=brand.pk, name="one more")
    tag_services.tag_add(tag=extra, followers=[follower])
    row = TagSync.objects.get(tag=extra)
    assert row.state == "failed" and row.errcode == 45056
    assert not any(t.name == "one more" for t in portal_sandbox.state.accounts[account.appid].tags)


def test_a_follower_at_20_tags_is_refused_alone_not_the_whole_batch(portal_sandbox, brand):
    account = _account(portal_sandbox, brand)
    full, free = _followers(portal_sandbox, account, 2)
    # 20 tags on WeChat's side, put there outside the portal.
    sb_full = next(f for f in portal_sandbox.state.account_followers(account.appid)
                   if f.openid == full.openid)
    sb_full.tagids.extend(range(300, 320))
    tag, _ = tag_services.tag_get_or_create(brand_id=brand.pk, name="Gold")
    tag_services.tag_add(tag=tag, followers=[full, free])
    mapped = AccountTag.objects.get(tag=tag)
    assert mapped.wechat_id in _sandbox_tag_ids(portal_sandbox, account, free.openid)
    row = TagSync.objects.get(follower=full, tag=tag)
    assert row.state == "failed" and row.errcode == 45059 and "20 WeChat tags" in row.reason
    assert set(Follower.objects.get(pk=full.pk).tags.all()) == {tag}


def test_a_follower_the_portal_knows_at_20_is_checked_before_calling(portal_sandbox, brand):
    account = _account(portal_sandbox, brand)
    (follower,) = _followers(portal_sandbox, account, 1)
    for i in range(20):
        tag = Tag.objects.create(brand=brand, name=f"k{i}")
        AccountTag.objects.create(brand=brand, tag=tag, account=account, wechat_id=2000 + i)
        follower.tags.add(tag)
    extra, _ = tag_services.tag_get_or_create(brand_id=brand.pk, name="21st")
    tag_services.tag_add(tag=extra, followers=[follower])
    row = TagSync.objects.get(tag=extra)
    assert row.state == "failed" and row.errcode == 45059
    # The tag was made on the account (it is within 100), the follower just cannot carry it.
    assert AccountTag.objects.filter(tag=extra, account=account).exists()
    assert _sandbox_tag_ids(portal_sandbox, account, follower.openid) == []


def test_a_name_over_30_characters_is_refused_before_anything(brand):
    from accounts.errors import InvalidInput

    with pytest.raises(InvalidInput, match="30"):
        tag_services.tag_get_or_create(brand_id=brand.pk, name="x" * 31)


def test_pull_maps_platform_tags_by_name_and_follows_members(portal_sandbox, brand):
    account = _account(portal_sandbox, brand)
    a, b = _followers(portal_sandbox, account, 2)
    existing, _ = tag_services.tag_get_or_create(brand_id=brand.pk, name="Known")
    b.tags.add(existing)  # the portal says b has it, WeChat says a has it
    state = portal_sandbox.state.accounts[account.appid]
    state.tags.extend([SandboxTag(id=150, name="Known"), SandboxTag(id=151, name="New there")])
    sb = {f.openid: f for f in portal_sandbox.state.account_followers(account.appid)}
    sb[a.openid].tagids.extend([150, 151])
    report = tag_services.tags_pull_account(account_id=account.pk)
    assert report.brand_tags_created == ["New there"]
    assert AccountTag.objects.get(tag=existing, account=account).wechat_id == 150
    made = Tag.objects.get(brand=brand, name="New there")
    assert AccountTag.objects.get(tag=made).wechat_id == 151
    assert set(a.tags.values_list("name", flat=True)) == {"Known", "New there"}
    assert not b.tags.exists()
    assert CustomerActivity.objects.filter(kind="tag_removed", follower=b,
                                           data__source="wechat").exists()
    # user/info's tagid_list (the sync part) maps the same way.
    tag_services.follower_tags_from_platform(follower=b, tagid_list=[151, 2])
    assert list(b.tags.values_list("name", flat=True)) == ["New there"]


def test_tag_changes_announce_their_events(brand, announced):
    account = make_account(brand=brand)
    follower = make_follower(account=account)
    tag, _ = tag_services.tag_get_or_create(brand_id=brand.pk, name="Quiet")
    tag_services.tag_add(tag=tag, followers=[follower], push=False)
    tag_services.tag_remove(tag=tag, followers=[follower], push=False)
    names = [name for name, _payload in announced]
    assert names == ["tag.added", "tag.removed"]
    assert announced[0][1]["follower_ids"] == [follower.pk]


def test_a_follower_who_left_is_flagged_not_sent(portal_sandbox, brand):
    account = _account(portal_sandbox, brand)
    stays, left = _followers(portal_sandbox, account, 2)
    Follower.objects.filter(pk=left.pk).update(subscribed=False)
    tag, _ = tag_services.tag_get_or_create(brand_id=brand.pk, name="Loyal")
    tag_services.tag_add(tag=tag, followers=[stays, left])
    assert TagSync.objects.get(follower=left).reason.startswith("The follower no longer follows")
    assert AccountTag.objects.get(tag=tag).wechat_id in _sandbox_tag_ids(
        portal_sandbox, account, stays.openid)


def test_transient_trouble_leaves_the_change_pending(portal_sandbox, brand, monkeypatch):
    from wechat.client.users import TagApi
    from wechat.errors import TransportError

    account = _account(portal_sandbox, brand)
    (follower,) = _followers(portal_sandbox, account, 1)

    def down(self, tag_id, openids):
        raise TransportError("connection reset", maybe_sent=False)

    monkeypatch.setattr(TagApi, "tag_add_users", down)
    tag, _ = tag_services.tag_get_or_create(brand_id=brand.pk, name="Later")
    tag_services.tag_add(tag=tag, followers=[follower])
    row = TagSync.objects.get(follower=follower)
    assert row.state == "pending" and row.attempts == 1
    monkeypatch.undo()
    report = tag_services.tags_push_account(account_id=account.pk)
    assert report.tagged == 1 and not TagSync.objects.exists()
