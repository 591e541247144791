"""Tag pushes with a REAL Celery worker: a tag put on followers in the portal reaches
WeChat through the push task; a push the platform refuses for a while (busy) stays pending
with its reason, and the periodic task, run by the worker, pushes it later. Nothing is
dropped on the way."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.cache import cache
from django.utils import timezone

from followers import tags as tag_services
from followers.models import AccountTag, TagSync
from followers.tasks_tags import behaviour_rules_task
from tests.factories import make_follower
from tests.followers.sync_support import calls, seed, wire
from tests.messaging.worker_support import (  # noqa: F401 - fixtures
    Broker,
    Workers,
    broker,
    wait_until,
    workers,
)

pytestmark = pytest.mark.django_db(transaction=True)

BATCHTAGGING = "/cgi-bin/tags/members/batchtagging"


def _on_wechat(sandbox, appid: str, wechat_id: int) -> set[str]:
    with sandbox.state.lock:
        return {f.openid for f in sandbox.state.account_followers(appid)
                if wechat_id in f.tagids}


def test_a_refused_push_waits_pending_and_the_periodic_task_pushes_it_through_the_worker(
        sandbox, settings, two_brands, broker: Broker, workers: Workers):  # noqa: F811
    settings.WECHAT_API_BASE = sandbox.base_url
    cache.clear()
    a1 = two_brands["a1"]
    wire(sandbox, a1)
    followers = [make_follower(account=a1, openid=openid)
                 for openid in seed(sandbox, a1.appid, 60)]
    workers.start()

    # First push: the platform is busy for the first batch (of two: 50 + 10), through
    # the client's own 3 attempts (wechat/client/retry.py).
    sandbox.control("POST", "/faults", {"kind": "busy", "path": BATCHTAGGING,
                                        "appid": a1.appid, "count": 3})
    vip, _ = tag_services.tag_get_or_create(brand_id=a1.brand_id, name="VIP")
    tag_services.tag_add(tag=vip, followers=followers)  # queued on commit, to the worker
    wait_until("the worker's first push",
               lambda: calls(sandbox, BATCHTAGGING, a1.appid) >= 4, timeout=30)
    wechat_id = wait_until("the tag made on WeChat", lambda: AccountTag.objects.filter(
        tag=vip, account=a1).values_list("wechat_id", flat=True).first(), timeout=10)
    waiting = wait_until("the refused batch to be left pending", lambda: list(
        TagSync.objects.filter(account=a1, state=TagSync.State.PENDING, attempts=1)), timeout=10)
    assert len(waiting) == 50
    assert all(row.reason for row in waiting)
    assert len(_on_wechat(sandbox, a1.appid, wechat_id)) == 10

    # A minute on, the periodic task (as beat sends it) finds them and queues the push.
    TagSync.objects.filter(pk__in=[r.pk for r in waiting]).update(
        updated_at=timezone.now() - timedelta(minutes=2))
    behaviour_rules_task.apply_async()  # to the worker (no eager run: the broker fixture)
    wait_until("every follower tagged on WeChat",
               lambda: len(_on_wechat(sandbox, a1.appid, wechat_id)) == 60, timeout=30)
    wait_until("nothing left to push", lambda: not TagSync.objects.exists(), timeout=10)
    assert set(vip.followers.values_list("openid", flat=True)) == {
        f.openid for f in followers}
