"""In Chromium, a brand admin opens an account's business hours from its page, gets an
overnight interval explained beside its day, saves the week and adds a closure; the same
in Chinese."""

import pytest

from accounts.models import BrandClosure, BusinessHours
from tests.browser.page_support import brand_admin, in_chinese, sign_in
from tests.factories import make_account, make_brand

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _overnight_friday(page) -> None:  # noqa: ANN001
    page.fill("input[name=day_0]", "09:00-18:00")
    page.fill("input[name=day_4]", "22:00-02:00")
    page.get_by_test_id("hours-form").locator("button[type=submit]").click()
    page.locator("#id_day_4_error").wait_for()


def test_an_admin_sets_hours_and_a_closure(live_server, page, artifacts) -> None:
    brand = make_brand(name="Lumen Hotels Group")
    account = make_account(brand=brand, name="Lumen Bund")
    sign_in(page, live_server, brand_admin(brand), f"/official-accounts/{account.pk}/")
    page.get_by_test_id("account-hours").click()
    page.get_by_test_id("hours-form").wait_for()
    assert page.title() == "Business hours · Lumen Hotels Group"

    _overnight_friday(page)
    error = page.locator(".field[data-field=day_4] #id_day_4_error")
    assert "enter 22:00-24:00 on this day and 00:00-02:00 on the next" in error.inner_text()
    page.screenshot(path=str(artifacts / "business-hours-overnight-error.png"), full_page=True)
    assert not BusinessHours.objects.exists()

    page.fill("input[name=day_4]", "09:00-18:00, 22:00-24:00")
    page.get_by_test_id("hours-form").locator("button[type=submit]").click()
    page.get_by_test_id("hours-list").wait_for()
    assert BusinessHours.objects.get(account=account).week[4] == [[540, 1080], [1320, 1440]]
    assert "Set" in page.get_by_test_id(f"hours-account-{account.pk}").inner_text()

    form = page.get_by_test_id("closure-form")
    form.locator("input[name=name]").fill("refit")
    form.locator("input[name=starts_on]").fill("2026-11-02")
    form.locator("input[name=ends_on]").fill("2026-11-03")
    form.get_by_label("Lumen Bund").check()
    form.locator("button[type=submit]").click()
    page.get_by_test_id("closure-list").get_by_text("refit").wait_for()
    assert [a.name for a in BrandClosure.objects.get().accounts.all()] == ["Lumen Bund"]
    page.screenshot(path=str(artifacts / "business-hours-list.png"), full_page=True)


def test_the_business_hours_page_in_chinese(live_server, page, artifacts) -> None:
    brand = make_brand(name="Lumen Hotels Group")
    account = make_account(brand=brand, name="Lumen Bund")
    sign_in(page, live_server, brand_admin(brand), f"/business-hours/accounts/{account.pk}/")
    in_chinese(page)
    assert page.title() == "营业时间 · Lumen Hotels Group"
    assert "星期一" in page.locator(".field[data-field=day_0] label").inner_text()
    _overnight_friday(page)
    assert "跨过午夜" in page.locator(".field[data-field=day_4] #id_day_4_error").inner_text()
    page.screenshot(path=str(artifacts / "business-hours-zh-hans.png"), full_page=True)
