"""A conversation transferred out of an agent's sight leaves their screen at once.

The agent sits in the Bund desk team (serving another account), with the Bund's
conversation open. An admin hands it to Chengdu Taikoo Li's queue: the agent's list drops
the row, the open thread closes with a notice, and the agent's other conversation stays.
"""

import re
import threading

import pytest
from django.db import connection
from playwright.sync_api import expect

from accounts.scope import scope_for_membership
from routing.transfers import transfer_create
from tests.browser.console_support import console_sign_in
from tests.browser.test_console import asgi_live_server  # noqa: F401 - fixture
from tests.factories import (
    make_account,
    make_brand,
    make_conversation,
    make_member,
    make_team,
)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_a_transfer_out_of_sight_drops_the_row_and_closes_the_thread(
    asgi_live_server, page, artifacts  # noqa: F811
):
    server = asgi_live_server.url
    brand = make_brand(name="Lumen Hotels Group")
    bund = make_account(brand=brand, name="Lumen Shanghai Bund")
    taikoo = make_account(brand=brand, name="Chengdu Taikoo Li")
    hangzhou = make_account(brand=brand, name="Hangzhou West Lake")
    desk = make_team(brand=brand, name="Bund desk", accounts=[bund])
    agent = make_member(brand=brand, accounts=[hangzhou])
    agent.teams.add(desk)
    admin = make_member(brand=brand, role="admin")
    moving = make_conversation(account=bund, team=desk)
    staying = make_conversation(account=hangzhou)

    console_sign_in(page, server, agent)
    page.get_by_test_id("box-all").click()
    items = page.get_by_test_id("conversation-item")
    page.locator(f"[data-testid=conversation-item][data-id='{moving.pk}']").click()
    page.wait_for_function(
        "document.getElementById('c-subtitle').textContent.includes('Lumen Shanghai Bund')")
    assert items.count() == 2

    def transfer() -> None:
        # In a thread of its own: the eager push uses async_to_sync, which Playwright's
        # event loop in this thread would refuse.
        try:
            transfer_create(
                scope=scope_for_membership(admin), conversation=moving, to_account=taikoo,
                note="Moving to Chengdu", by=admin,
            )
        finally:
            connection.close()

    worker = threading.Thread(target=transfer)
    worker.start()
    worker.join(timeout=10)

    page.locator(f"[data-testid=conversation-item][data-id='{moving.pk}']").wait_for(
        state="detached", timeout=5_000)
    page.wait_for_function(
        "document.getElementById('c-toast').textContent.includes('transferred out')")
    assert page.get_by_test_id("toast").inner_text() == (
        "This conversation was transferred out of your queues.")
    expect(page.locator("#c-title")).to_have_text("No conversation open")
    assert page.get_by_test_id("thread").locator("li").count() == 0
    assert page.get_by_test_id("send").is_disabled()
    assert page.get_by_test_id("attach-image").is_disabled()
    assert [items.nth(i).get_attribute("data-id") for i in range(items.count())] == [
        str(staying.pk)]
    # The box counts follow: one left in all, none in the Bund desk's queue.
    page.wait_for_function(
        "document.querySelector('[data-testid=box-all] .c-count').textContent === '1'")
    expect(page.get_by_test_id(f"box-team:{desk.pk}")).to_have_text(re.compile(r"0$"))
    page.screenshot(path=str(artifacts / "console-moved-away.png"))
