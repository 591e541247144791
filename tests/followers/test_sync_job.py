"""Follower sync against the sandbox, run in this process: thousands of followers over
three accounts, unionid linking across accounts, incremental re-syncs, subscribe and
unsubscribe events between syncs, a quota hit that pauses and resumes, failures."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from accounts.scope import scope_for_membership
from followers import sync
from followers.models import Customer, Follower
from followers.models_sync import FollowerListing, FollowerSync
from followers.services import follower_upsert
from followers.tasks_sync import sync_resume_task
from tests.factories import make_account
from tests.followers.sync_support import (
    BATCHGET,
    USER_GET,
    calls,
    group,
    person_of,
    run_to_end,
    sandbox_followers,
    seed,
    unfollow,
    wire,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def world(portal_sandbox, two_brands):  # noqa: ANN001, ANN201
    """Brand A's two accounts in one open-platform group (shared unionids) and a third
    outside it; pages of 500 so a list takes several."""
    sb = portal_sandbox
    sb.control("POST", "/settings", {"user_page_size": 500})
    g = group(sb)
    a1, a2 = two_brands["a1"], two_brands["a2"]
    a3 = make_account(brand=two_brands["brand_a"], name="A outlet")
    wire(sb, a1, group=g)
    wire(sb, a2, group=g)
    wire(sb, a3)
    return sb, a1, a2, a3


def _start(two_brands, account, kind="full") -> FollowerSync:  # noqa: ANN001
    scope = scope_for_membership(two_brands["admin_a"])
    return sync.follower_sync_start(scope=scope, account_id=account.pk, kind=kind,
                                    enqueue=False)


def test_a_full_sync_of_three_accounts_links_customers_by_unionid(world, two_brands):
    sb, a1, a2, a3 = world
    on_a1 = seed(sb, a1.appid, 1200)
    shared_people = [person_of(sb, o) for o in on_a1[:500]]
    on_a2 = seed(sb, a2.appid, 0, persons=shared_people) + seed(sb, a2.appid, 300,
                                                                language="en")
    on_a3 = seed(sb, a3.appid, 200)
    with sb.state.lock:
        sb.state.followers[on_a1[0]].remark = "VIP Wang"
        sb.state.followers[on_a1[1]].tagids = [2, 101]

    jobs = [_start(two_brands, account) for account in (a1, a2, a3)]
    assert [run_to_end(job.pk) for job in jobs] == ["done"] * 3

    for account, openids in ((a1, on_a1), (a2, on_a2), (a3, on_a3)):
        assert set(Follower.objects.filter(account=account, subscribed=True)
                   .values_list("openid", flat=True)) == set(openids) == \
            sandbox_followers(sb, account.appid)
    job = FollowerSync.objects.get(pk=jobs[0].pk)
    assert (job.list_total, job.listed, job.created_followers) == (1200, 1200, 1200)
    assert (job.profiles_total, job.profiles_done) == (1200, 1200)
    assert job.last_errors == [] and job.errors_count == 0
    # The list took its 3 pages once; the profiles 12 calls of 100.
    assert calls(sb, USER_GET, a1.appid) == 3
    assert calls(sb, BATCHGET, a1.appid) == 12
    # Profiles: remark, tag ids, language, the unionid; the shared people are one customer.
    wang = Follower.objects.get(account=a1, openid=on_a1[0])
    assert wang.remark == "VIP Wang" and wang.unionid and wang.profile_fetched_at
    assert FollowerListing.objects.get(follower__openid=on_a1[1]).tagid_list == [2, 101]
    assert Follower.objects.filter(account=a2, language="en").count() == 300
    assert Follower.objects.filter(customer__isnull=True).count() == 0
    both = Follower.objects.filter(account__in=[a1, a2], openid__in=[on_a1[5], on_a2[5]])
    assert len({f.customer_id for f in both}) == 1
    brand_a = two_brands["brand_a"]
    synced = Follower.objects.filter(openid__in=on_a1 + on_a2 + on_a3)
    assert len(set(synced.values_list("customer_id", flat=True))) == 1200 + 300 + 200
    # No customer was left without followers (placeholders are not made, or removed).
    assert not Customer.objects.filter(brand=brand_a, followers__isnull=True).exclude(
        conversations__isnull=False).exists()


def test_an_incremental_sync_marks_who_left_and_fetches_only_new_profiles(world, two_brands):
    sb, a1, _a2, _a3 = world
    first = seed(sb, a1.appid, 700)
    assert run_to_end(_start(two_brands, a1).pk) == "done"
    unfollow(sb, a1.appid, first[:25])
    newcomers = seed(sb, a1.appid, 130)
    before = calls(sb, BATCHGET, a1.appid)

    job = _start(two_brands, a1, kind="incremental")
    assert run_to_end(job.pk) == "done"
    job.refresh_from_db()
    assert (job.created_followers, job.unsubscribed_followers) == (130, 25)
    assert job.profiles_total == 130
    assert calls(sb, BATCHGET, a1.appid) - before == 2
    gone = Follower.objects.filter(account=a1, openid__in=first[:25])
    assert {f.subscribed for f in gone} == {False} and all(f.unsubscribed_at for f in gone)
    assert set(Follower.objects.filter(account=a1, subscribed=True).values_list(
        "openid", flat=True)) == set(first[25:] + newcomers)
    # A stale profile is fetched again on the next incremental sync.
    Follower.objects.filter(account=a1, openid=first[30]).update(
        profile_fetched_at=timezone.now() - timedelta(days=sync.PROFILE_STALE_DAYS + 1))
    again = _start(two_brands, a1, kind="incremental")
    assert run_to_end(again.pk) == "done"
    again.refresh_from_db()
    assert again.profiles_total == 1


def test_subscribe_and_unsubscribe_between_syncs_are_kept(world, two_brands):
    sb, a1, _a2, _a3 = world
    seed(sb, a1.appid, 50)
    # A subscribe event came in before any sync: ingestion made the follower.
    newcomer = seed(sb, a1.appid, 1)[0]
    made, created = follower_upsert(account=a1, openid=newcomer, at=timezone.now(), lock=False)
    assert created
    # One who left: the platform no longer lists them, ingestion recorded the unfollow.
    leaver = seed(sb, a1.appid, 1)[0]
    unfollow(sb, a1.appid, [leaver])
    left, _ = follower_upsert(account=a1, openid=leaver, at=timezone.now(), subscribed=False,
                              lock=False)
    left.unsubscribed_at = timezone.now()
    left.save()
    # One the portal still thinks follows, gone on the platform without an event.
    silent = seed(sb, a1.appid, 1)[0]
    unfollow(sb, a1.appid, [silent])
    quiet = Follower.objects.create(brand_id=a1.brand_id, account=a1, openid=silent,
                                    subscribed=True,
                                    subscribed_at=timezone.now() - timedelta(days=3))
    Follower.objects.filter(pk=quiet.pk).update(created_at=timezone.now() - timedelta(days=3))

    assert run_to_end(_start(two_brands, a1).pk) == "done"
    assert Follower.objects.filter(account=a1, openid=newcomer).count() == 1
    made.refresh_from_db()
    assert made.subscribed and made.profile_fetched_at and made.customer_id
    left.refresh_from_db()
    quiet.refresh_from_db()
    assert not left.subscribed and not quiet.subscribed and quiet.unsubscribed_at
    assert Follower.objects.filter(account=a1, subscribed=True).count() == 51


def test_a_daily_quota_hit_pauses_the_job_until_beijing_midnight_then_it_resumes(
        world, two_brands, monkeypatch):
    sb, a1, _a2, _a3 = world
    # One call at a time, so which calls the quota refuses is certain.
    monkeypatch.setattr(sync, "PROFILE_THREADS", 1)
    sb.control("PATCH", f"/accounts/{a1.appid}", {"quotas": {BATCHGET: 3}})
    openids = seed(sb, a1.appid, 520)
    job = _start(two_brands, a1)
    assert run_to_end(job.pk) == "paused"
    job.refresh_from_db()
    assert job.status == "paused" and job.profiles_done == 300
    assert "daily quota of user/info/batchget reached (45009)" in job.reason
    assert "00:00 Beijing time" in job.reason
    assert job.resume_after == sync.next_beijing_midnight()
    assert job.resume_after.astimezone(sync.BEIJING).hour == 0
    assert job.errors_count == 1 and job.last_errors[-1]["errcode"] == 45009
    # Not before the day is over.
    assert sync_resume_task() == 0
    # The next Beijing day: the platform's quota is fresh, the beat task resumes the job.
    sb.clock.advance(86400)
    FollowerSync.objects.filter(pk=job.pk).update(resume_after=timezone.now())
    assert sync_resume_task() == 1  # eager here: the job ran to the end
    job.refresh_from_db()
    assert job.status == "done" and job.profiles_done == 520
    # 3 calls, the refused 4th, then the 3 left: no batch was fetched twice.
    assert calls(sb, BATCHGET, a1.appid, ok=True) == 6
    assert Follower.objects.filter(account=a1, profile_fetched_at__isnull=False).count() \
        == len(openids)


def test_a_refused_api_fails_the_job_with_the_reason(world, two_brands):
    sb, a1, _a2, _a3 = world
    seed(sb, a1.appid, 10)
    sb.control("POST", "/faults", {"kind": "errcode", "errcode": 48001, "path": USER_GET,
                                   "appid": a1.appid})
    job = _start(two_brands, a1)
    assert run_to_end(job.pk) == "failed"
    job.refresh_from_db()
    assert job.status == "failed" and "48001" in job.reason and "user/get" in job.reason
    assert job.last_errors[-1]["errcode"] == 48001
    # The account may be synced again once the job ended.
    assert _start(two_brands, a1).status == "queued"


def test_a_transient_failure_is_retried_and_the_job_goes_on(world, two_brands):
    sb, a1, _a2, _a3 = world
    seed(sb, a1.appid, 10)
    # -1 three times: the client's own three attempts fail, the job's retry succeeds.
    sb.control("POST", "/faults", {"kind": "busy", "path": BATCHGET, "appid": a1.appid,
                                   "count": 3})
    job = _start(two_brands, a1)
    assert run_to_end(job.pk) == "done"
    job.refresh_from_db()
    assert job.errors_count == 1 and job.last_errors[0]["errcode"] == -1
    assert job.profiles_done == 10 and job.retries == 0
