"""A brand admin in real headless Chromium: sign in, see accounts, add one, go Chinese."""

import pytest

from accounts.models import Membership, OfficialAccount
from tests.factories import PASSWORD, make_account, make_brand, make_member

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_admin_signs_in_creates_an_account_and_switches_to_chinese(live_server, page, artifacts):
    brand = make_brand(name="Lumen Hotels Group")
    make_account(brand=brand, name="Lumen Shanghai Bund", verified=True)
    make_account(brand=make_brand(name="Rival Group"), name="Rival Flagship")
    admin = make_member(brand=brand, role="admin").user

    page.goto(f"{live_server.url}/")
    page.fill("input[name=login]", admin.email)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    accounts = page.get_by_test_id("account-list")
    accounts.wait_for()
    assert "Lumen Shanghai Bund" in accounts.inner_text()
    assert "Rival Flagship" not in page.content()

    page.get_by_test_id("add-account").click()
    page.fill("input[name=name]", "Lumen Chengdu Taikoo Li")
    page.fill("input[name=appid]", "wx00000000000c0de1")
    page.fill("input[name=original_id]", "gh_lumenchengdu1")
    page.select_option("select[name=kind]", "service")
    page.fill("input[name=app_secret]", "a-very-secret-app-secret")
    page.get_by_test_id("account-form").locator("button[type=submit]").click()
    details = page.get_by_test_id("connection-details")
    details.wait_for()
    account = OfficialAccount.objects.get(appid="wx00000000000c0de1")
    assert account.brand_id == brand.pk
    assert account.token in details.inner_text()
    assert "a-very-secret-app-secret" not in page.content()
    page.screenshot(path=str(artifacts / "brand-admin-connection-details.png"), full_page=True)

    page.goto(f"{live_server.url}/")
    page.select_option("[data-testid=language-select]", "zh-hans")
    page.wait_for_selector("html[lang=zh-hans]")
    heading = page.locator("h1").inner_text()
    assert heading == "公众号"
    assert "Lumen Chengdu Taikoo Li" in page.get_by_test_id("account-list").inner_text()
    page.screenshot(path=str(artifacts / "brand-admin-home-zh-hans.png"), full_page=True)
    assert Membership.objects.filter(user=admin, brand=brand).exists()
