"""In Chromium, with a REAL Celery worker: a brand admin starts a follower sync from the
followers page and watches it run (the bar, the counts, the phase) to the end, then finds a
synced follower by the start of its openid."""

from __future__ import annotations

import re

import pytest
from django.core.cache import cache
from playwright.sync_api import expect

from followers.models import Follower
from followers.models_sync import FollowerSync
from tests.browser.page_support import brand_admin, sign_in
from tests.factories import make_account, make_brand
from tests.followers.sync_support import BATCHGET, seed, wire
from tests.messaging.worker_support import (  # noqa: F401 - fixtures
    Broker,
    Workers,
    broker,
    workers,
)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

FOLLOWERS = 3000


def test_an_admin_starts_a_sync_and_watches_it_to_the_end(
        live_server, page, artifacts, sandbox, settings, broker: Broker,  # noqa: F811
        workers: Workers) -> None:  # noqa: F811
    settings.WECHAT_API_BASE = sandbox.base_url
    cache.clear()
    brand = make_brand(name="Lumen Hotels Group")
    account = make_account(brand=brand, name="Lumen Flagship")
    wire(sandbox, account)
    sandbox.control("POST", "/settings", {"user_page_size": 1000})
    openids = seed(sandbox, account.appid, FOLLOWERS)
    # Profiles come at 0.15 s a call (30 calls, 4 at a time): the run lasts long enough
    # to be watched between the page's polls.
    sandbox.control("POST", "/faults", {"kind": "slow", "path": BATCHGET,
                                        "appid": account.appid, "delay": 0.15})
    workers.start()
    sign_in(page, live_server, brand_admin(brand), "/crm/followers/")
    row = page.get_by_test_id(f"sync-{account.pk}")
    expect(row.locator("[data-field=status]")).to_contain_text("Never synced")
    row.get_by_test_id("sync-button").click()

    # While it runs: the status says so, the bar moves, the counts grow.
    expect(row.locator("[data-field=status]")).to_contain_text("Running", timeout=15_000)
    expect(row.get_by_test_id("sync-button")).to_be_disabled()
    page.wait_for_function(
        "id => { const bar = document.querySelector(`[data-testid=sync-${id}] progress`);"
        " return bar && bar.value > 0 && bar.value < 100; }", arg=account.pk, timeout=15_000)
    page.screenshot(path=str(artifacts / "crm-follower-sync-running.png"), full_page=True)

    # To the end: done, every follower listed and profiled, the bar full.
    expect(row.locator("[data-field=status]")).to_contain_text("Done", timeout=30_000)
    expect(row.locator("[data-field=counts]")).to_have_text(
        re.compile(rf"{FOLLOWERS}\D+{FOLLOWERS} listed\D+{FOLLOWERS}\D+{FOLLOWERS} profiles"))
    assert row.locator("progress").evaluate("bar => bar.value") == 100
    job = FollowerSync.objects.get(account=account)
    assert (job.status, job.listed, job.profiles_done) == ("done", FOLLOWERS, FOLLOWERS)
    assert Follower.objects.filter(account=account, subscribed=True).count() == FOLLOWERS
    page.screenshot(path=str(artifacts / "crm-follower-sync-done.png"), full_page=True)

    # The list: the synced followers, and one found by the start of its openid.
    page.reload()
    assert page.get_by_test_id("follower-list").locator("tbody tr").count() == 50
    page.get_by_test_id("follower-search").fill(openids[7][:16])
    page.get_by_test_id("follower-search").press("Enter")
    page.wait_for_load_state()
    found = page.get_by_test_id("follower-list").locator("tbody tr")
    expect(found.filter(has_text=openids[7])).to_have_count(1)
