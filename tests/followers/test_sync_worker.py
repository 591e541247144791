"""A worker killed mid-sync, with REAL Celery workers: the job goes on in another worker
from its last saved page and profile batch, never from zero, and ends with exactly the
sandbox's followers."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.cache import cache
from django.utils import timezone

from accounts.scope import scope_for_membership
from followers import sync
from followers.models import Follower
from followers.models_sync import FollowerSync
from followers.tasks_sync import sync_resume_task
from tests.followers.sync_support import BATCHGET, USER_GET, calls, sandbox_followers, seed, wire
from tests.messaging.worker_support import (  # noqa: F401 - fixtures
    Broker,
    Workers,
    broker,
    wait_until,
    workers,
)

pytestmark = pytest.mark.django_db(transaction=True)


def _job(pk: int) -> FollowerSync:
    return FollowerSync.objects.get(pk=pk)


def test_a_worker_killed_mid_sync_is_taken_over_from_the_last_saved_batch(
        sandbox, settings, two_brands, broker: Broker, workers: Workers):  # noqa: F811
    settings.WECHAT_API_BASE = sandbox.base_url
    cache.clear()
    a1 = two_brands["a1"]
    wire(sandbox, a1)
    sandbox.control("POST", "/settings", {"user_page_size": 500})
    seed(sandbox, a1.appid, 2000)
    # Profiles come slowly (0.2 s a call), so the kill lands inside a profile step.
    sandbox.control("POST", "/faults", {"kind": "slow", "path": BATCHGET, "appid": a1.appid,
                                        "delay": 0.2})
    first = workers.start()
    job = sync.follower_sync_start(scope=scope_for_membership(two_brands["admin_a"]),
                                   account_id=a1.pk)
    wait_until("the first profile step to be saved",
               lambda: _job(job.pk).profiles_done >= sync.PROFILE_STEP, timeout=30)
    # Inside the second step: some of its calls made, none of it saved.
    wait_until("the second step's calls", lambda: calls(sandbox, BATCHGET, a1.appid) >= 12)
    first.kill()
    killed = _job(job.pk)
    assert killed.status == "running" and killed.profiles_done == sync.PROFILE_STEP
    assert killed.phase == "profiles" and killed.lease
    pages_before = calls(sandbox, USER_GET, a1.appid)
    assert pages_before == 4

    # The dead worker's heartbeat goes stale (as STALE_SECONDS pass); the beat task finds
    # the job and another worker takes it over (the killed task also comes back: acked
    # late; whichever comes first holds the lease, the other leaves the job alone).
    FollowerSync.objects.filter(pk=job.pk).update(
        heartbeat_at=timezone.now() - timedelta(seconds=sync.STALE_SECONDS + 1))
    survivor = workers.start(CELERY_VISIBILITY_TIMEOUT="2")
    try:
        assert sync_resume_task() == 1
        done = wait_until("the job to finish",
                          lambda: (j := _job(job.pk)).status == "done" and j, timeout=30)
    finally:
        survivor.stop()
    assert set(Follower.objects.filter(account=a1, subscribed=True).values_list(
        "openid", flat=True)) == sandbox_followers(sandbox, a1.appid)
    assert done.listed == 2000 and done.profiles_done == 2000
    # Not one page of the list again. Of the profiles: the first step's 10 calls once, the
    # killed step's (at least 2 of its 10 had been made) and that step again, 10 calls.
    # From zero it would have been 10 + 2 + 20 or more.
    assert calls(sandbox, USER_GET, a1.appid) == pages_before
    assert 10 + 2 + 10 <= calls(sandbox, BATCHGET, a1.appid) <= 10 + 10 + 10
    assert not Follower.objects.filter(account=a1, subscribed=True,
                                       profile_fetched_at__isnull=True).exists()
