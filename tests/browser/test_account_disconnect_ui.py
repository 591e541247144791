"""Disconnecting an account in real headless Chromium, in English and Chinese: the account
page's danger button asks first and says what will happen, cancelling changes nothing,
confirming disconnects and comes back to the account, which no longer offers the button."""

import pytest

from accounts.models import OfficialAccount
from tests.browser.page_support import brand_admin, in_chinese, sign_in
from tests.factories import make_account, make_brand

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

BRAND = "Lumen Hotels Group"


def test_disconnecting_an_account_asks_first_then_disconnects(live_server, page, artifacts):
    brand = make_brand(name=BRAND)
    account = make_account(brand=brand, name="Beijing Sanlitun")
    detail = f"/official-accounts/{account.pk}/"
    sign_in(page, live_server, brand_admin(brand), detail)

    button = page.get_by_test_id("disconnect-account")
    assert "danger" in button.get_attribute("class")
    # Readable: its label is not drawn in the colour of its background.
    colours = button.evaluate(
        "b => [getComputedStyle(b).color, getComputedStyle(b).backgroundColor]")
    assert button.inner_text() == "Disconnect" and colours[0] != colours[1], colours
    button.click()
    page.get_by_test_id("consequences").wait_for()
    assert page.locator("h1").inner_text() == "Disconnect Beijing Sanlitun?"
    assert page.title() == f"Disconnect Beijing Sanlitun · {BRAND}"
    said = page.get_by_test_id("consequences").inner_text()
    assert "The portal stops sending for Beijing Sanlitun" in said
    assert "Replies still waiting to be sent fail at their next attempt" in said
    assert "Conversations, messages and followers stay as they are." in said
    assert "enter its AppSecret in the connection wizard" in said
    page.screenshot(path=str(artifacts / "account-disconnect-confirm.png"), full_page=True)

    page.get_by_test_id("cancel").click()
    page.wait_for_url(f"{live_server.url}{detail}")
    account.refresh_from_db()
    assert account.disconnected_at is None and account.app_secret

    page.get_by_test_id("disconnect-account").click()
    page.get_by_test_id("confirm").click()
    page.wait_for_url(f"{live_server.url}{detail}")
    assert "Beijing Sanlitun is disconnected." in page.locator(".messages").inner_text()
    assert "Disconnected by Ada on the portal" in page.get_by_test_id("health").inner_text()
    assert page.get_by_test_id("disconnect-account").count() == 0
    page.screenshot(path=str(artifacts / "account-disconnect-done.png"), full_page=True)
    account.refresh_from_db()
    assert account.disconnected_at is not None and account.app_secret == ""


def test_disconnecting_an_accountin_chinese(live_server, page, artifacts):
    brand = make_brand(name=BRAND)
    account = make_account(brand=brand, name="Beijing Sanlitun")
    detail = f"/official-accounts/{account.pk}/"
    sign_in(page, live_server, brand_admin(brand), detail)
    in_chinese(page)

    page.get_by_test_id("disconnect-account").click()
    page.wait_for_selector("html[lang=zh-hans] [data-testid=consequences]")
    assert page.locator("h1").inner_text() == "要断开 Beijing Sanlitun 吗？"
    said = page.get_by_test_id("consequences").inner_text()
    assert "门户将停止为 Beijing Sanlitun 发送消息" in said
    assert "会话、消息和粉丝都保持不变。" in said
    assert page.get_by_test_id("confirm").inner_text() == "断开账号"
    page.screenshot(path=str(artifacts / "account-disconnect-confirm-zh-hans.png"),
                    full_page=True)

    page.get_by_test_id("cancel").click()
    page.wait_for_url(f"{live_server.url}{detail}")
    assert OfficialAccount.objects.get(pk=account.pk).disconnected_at is None

    page.get_by_test_id("disconnect-account").click()
    page.get_by_test_id("confirm").click()
    page.wait_for_url(f"{live_server.url}{detail}")
    assert "Beijing Sanlitun 已断开。" in page.locator(".messages").inner_text()
    assert "由 Ada 在门户中断开" in page.get_by_test_id("health").inner_text()
    assert page.get_by_test_id("disconnect-account").count() == 0
    page.screenshot(path=str(artifacts / "account-disconnect-done-zh-hans.png"), full_page=True)
    assert OfficialAccount.objects.get(pk=account.pk).disconnected_at is not None
