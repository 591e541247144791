"""A full follower sync that ends well pulls the account's tags and their members from the
platform (the tags part's task, queued on commit); an incremental sync, a paused job and
a failed one do not. Against the sandbox, run in this process."""

from __future__ import annotations

import pytest
from django.utils import timezone

from accounts.scope import scope_for_membership
from followers import sync
from followers.models import AccountTag, Follower, Tag
from followers.models_sync import FollowerSync
from followers.tasks_sync import sync_resume_task
from followers.tasks_tags import tags_pull_task
from tests.followers.sync_support import BATCHGET, USER_GET, calls, run_to_end, seed, wire
from wechat.sandbox.state import Tag as SandboxTag

pytestmark = pytest.mark.django_db

TAGS_GET = "/cgi-bin/tags/get"
MEMBERS_GET = "/cgi-bin/user/tag/get"


@pytest.fixture
def world(portal_sandbox, two_brands):  # noqa: ANN001, ANN201
    """Brand A's flagship on the sandbox with 5 followers, one of them carrying the
    platform's tag "Gold" (made on WeChat, unknown to the portal)."""
    sb, a1 = portal_sandbox, two_brands["a1"]
    wire(sb, a1)
    openids = seed(sb, a1.appid, 5)
    with sb.state.lock:
        sb.state.accounts[a1.appid].tags.append(SandboxTag(id=150, name="Gold"))
        sb.state.followers[openids[0]].tagids.append(150)
    return sb, a1, openids


@pytest.fixture
def pulls(monkeypatch):  # noqa: ANN001, ANN201
    """The pulls queued (account ids), passed on to the real task."""
    queued: list[int] = []
    real = tags_pull_task.apply_async

    def spy(args, **options):  # noqa: ANN001, ANN003, ANN202
        queued.append(args[0])
        return real(args, **options)

    monkeypatch.setattr(tags_pull_task, "apply_async", spy)
    return queued


def _start(two_brands, account, kind="full") -> FollowerSync:  # noqa: ANN001
    scope = scope_for_membership(two_brands["admin_a"])
    return sync.follower_sync_start(scope=scope, account_id=account.pk, kind=kind,
                                    enqueue=False)


def _brand_tags(openid: str) -> set[str]:
    return set(Follower.objects.get(openid=openid).tags.values_list("name", flat=True))


def test_a_full_sync_ends_with_the_platform_tags_on_the_followers(
        world, two_brands, pulls, django_capture_on_commit_callbacks):
    sb, a1, openids = world
    job = _start(two_brands, a1)
    with django_capture_on_commit_callbacks(execute=True):
        assert run_to_end(job.pk) == "done"
        # Queued for the commit, not run inside the job.
        assert pulls == [] and calls(sb, TAGS_GET, a1.appid) == 0
    assert pulls == [a1.pk]
    assert calls(sb, TAGS_GET, a1.appid) == 1 and calls(sb, MEMBERS_GET, a1.appid) == 1
    gold = Tag.objects.get(brand=two_brands["brand_a"], name="Gold")
    assert AccountTag.objects.get(tag=gold, account=a1).wechat_id == 150
    assert _brand_tags(openids[0]) == {"Gold"}
    assert all(_brand_tags(o) == set() for o in openids[1:])


def test_an_incremental_sync_does_not_pull_the_tags(
        world, two_brands, pulls, django_capture_on_commit_callbacks):
    sb, a1, openids = world
    job = _start(two_brands, a1, kind="incremental")
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        assert run_to_end(job.pk) == "done"
    assert callbacks == [] and pulls == []
    assert calls(sb, TAGS_GET, a1.appid) == 0 and calls(sb, MEMBERS_GET, a1.appid) == 0
    # The sync itself ran: the platform's followers are here.
    assert set(openids) <= set(Follower.objects.filter(account=a1, subscribed=True)
                               .values_list("openid", flat=True))
    assert not Tag.objects.filter(brand=two_brands["brand_a"]).exists()
    assert _brand_tags(openids[0]) == set()


def test_a_paused_job_pulls_nothing_until_it_ends(
        world, two_brands, pulls, monkeypatch, django_capture_on_commit_callbacks):
    sb, a1, openids = world
    # One profile call a day, in calls of 2: the second call pauses the job.
    monkeypatch.setattr(sync, "PROFILE_THREADS", 1)
    monkeypatch.setattr(sync, "PROFILE_BATCH", 2)
    sb.control("PATCH", f"/accounts/{a1.appid}", {"quotas": {BATCHGET: 1}})
    job = _start(two_brands, a1)
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        assert run_to_end(job.pk) == "paused"
    assert callbacks == [] and pulls == []
    assert calls(sb, TAGS_GET, a1.appid) == 0
    assert _brand_tags(openids[0]) == set()
    # The next Beijing day the job resumes and ends: then the tags come.
    sb.clock.advance(86400)
    sb.control("PATCH", f"/accounts/{a1.appid}", {"quotas": {BATCHGET: 100}})
    FollowerSync.objects.filter(pk=job.pk).update(resume_after=timezone.now())
    with django_capture_on_commit_callbacks(execute=True):
        assert sync_resume_task() == 1  # eager here: the job ran to its end
    assert FollowerSync.objects.get(pk=job.pk).status == "done"
    assert pulls == [a1.pk] and calls(sb, TAGS_GET, a1.appid) == 1
    assert _brand_tags(openids[0]) == {"Gold"}


def test_a_failed_job_pulls_nothing(world, two_brands, pulls,
                                    django_capture_on_commit_callbacks):
    sb, a1, openids = world
    sb.control("POST", "/faults", {"kind": "errcode", "errcode": 48001, "path": USER_GET,
                                   "appid": a1.appid})
    job = _start(two_brands, a1)
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        assert run_to_end(job.pk) == "failed"
    assert callbacks == [] and pulls == []
    assert calls(sb, TAGS_GET, a1.appid) == 0
    assert not Tag.objects.filter(brand=two_brands["brand_a"]).exists()


def test_a_broker_outage_leaves_the_job_done(world, two_brands, monkeypatch, caplog,
                                             django_capture_on_commit_callbacks):
    from kombu.exceptions import OperationalError

    sb, a1, _openids = world

    def down(args, **options):  # noqa: ANN001, ANN003, ANN202
        raise OperationalError("broker unreachable")

    monkeypatch.setattr(tags_pull_task, "apply_async", down)
    job = _start(two_brands, a1)
    with django_capture_on_commit_callbacks(execute=True):
        assert run_to_end(job.pk) == "done"
    assert FollowerSync.objects.get(pk=job.pk).status == "done"
    assert "could not queue the tag pull after a sync" in caplog.text
    assert calls(sb, TAGS_GET, a1.appid) == 0
