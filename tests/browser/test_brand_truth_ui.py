"""The brand pages tell the truth, in Chromium, in English and Chinese: capabilities come
from the account's type with a reason for each ✗, the health panel counts a successful
connection test as the last callback, and an authorized account's wizard shows what the
authorization gives."""

import pytest

from tests.accounts.token_support import twin
from tests.factories import PASSWORD, make_account, make_brand, make_member

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

TEXT = {
    "en": {
        "qr_reason": "Parametric QR codes need a verified service account. "
                     "This one is an unverified subscription account.",
        "kf_reason": "Customer-service replies need a verified account (subscription or "
                     "service).",
        "healthy": "Healthy",
        "test_mark": "(connection test)",
        "authorization": "Authorization",
        "bundles": "Message management (1), User management (2), "
                   "Broadcast & notification (7)",
        "reauthorize": "Re-authorize",
    },
    "zh-hans": {
        "qr_reason": "带参数二维码需要已认证的服务号。此账号是未认证的订阅号。",
        "kf_reason": "客服消息回复需要已认证的公众号（订阅号或服务号）。",
        "healthy": "正常",
        "test_mark": "(连接测试)",
        "authorization": "授权",
        "bundles": "消息管理 (1), 用户管理 (2), 群发与通知 (7)",
        "reauthorize": "重新授权",
    },
}
LANGUAGES = list(TEXT)


def _sign_in(page, live_server, user, path, language):
    page.goto(f"{live_server.url}{path}")
    page.fill("input[name=login]", user.email)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.locator("h1").wait_for()
    if language != "en":
        page.select_option("[data-testid=language-select]", language)
        page.wait_for_selector(f"html[lang={language}]")


@pytest.mark.parametrize("language", LANGUAGES)
def test_capabilities_follow_the_account_type_with_a_reason(
    live_server, page, artifacts, language
):
    brand = make_brand(name="Lumen Hotels Group")
    account = make_account(brand=brand, name="Lumen Stories", kind="subscription",
                           verified=False)
    admin = make_member(brand=brand, role="admin").user
    _sign_in(page, live_server, admin, f"/official-accounts/{account.pk}/", language)
    caps = page.get_by_test_id("capabilities")
    caps.wait_for()
    qr = page.get_by_test_id("cap-qrcodes")
    assert qr.get_attribute("class") == "off" and qr.inner_text().startswith("✗")
    assert TEXT[language]["qr_reason"] in qr.inner_text()
    kf = page.get_by_test_id("cap-customer_service")
    assert kf.get_attribute("class") == "off"
    assert TEXT[language]["kf_reason"] in kf.inner_text()
    assert page.get_by_test_id("cap-broadcasts").get_attribute("class") == "off"
    # Receiving and passive replies are every type's: the one ✓ left.
    on = caps.locator("li.on")
    assert on.count() == 1 and on.first.get_attribute("data-testid") == "cap-messages"
    caps.scroll_into_view_if_needed()
    page.screenshot(path=str(artifacts / f"brand-truth-capabilities-{language}.png"),
                    full_page=True)


@pytest.mark.parametrize("language", LANGUAGES)
def test_health_counts_a_successful_test_as_the_last_callback(
    live_server, page, artifacts, portal_sandbox, settings, language
):
    settings.SITE_URL = live_server.url
    settings.WECHAT_SANDBOX = True
    brand = make_brand(name="Lumen Hotels Group")
    account = make_account(brand=brand, name="Lumen Shanghai Bund", verified=True)
    twin(portal_sandbox, account, token=account.token,
         encoding_aes_key=account.encoding_aes_key)
    admin = make_member(brand=brand, role="admin").user
    _sign_in(page, live_server, admin, f"/official-accounts/{account.pk}/connect/", language)
    page.get_by_test_id("test-connection").click()
    page.get_by_test_id("test-ok").wait_for()

    page.goto(f"{live_server.url}/official-accounts/{account.pk}/")
    health = page.get_by_test_id("health")
    health.wait_for()
    assert TEXT[language]["healthy"] in health.locator("h2").inner_text()
    last = page.get_by_test_id("last-callback").inner_text()
    assert last.endswith(TEXT[language]["test_mark"]) and last != TEXT[language]["test_mark"]
    page.screenshot(path=str(artifacts / f"brand-truth-health-after-test-{language}.png"),
                    full_page=True)


@pytest.mark.parametrize("language", LANGUAGES)
def test_the_wizard_of_an_authorized_account_shows_the_authorization(
    live_server, page, artifacts, language
):
    brand = make_brand(name="Lumen Hotels Group")
    account = make_account(brand=brand, name="Lumen Chengdu Taikoo Li",
                           connection="platform", app_secret="", verified=True)
    account.token = account.encoding_aes_key = ""
    account.granted_bundles = [1, 2, 7]
    account.save()
    admin = make_member(brand=brand, role="admin").user
    _sign_in(page, live_server, admin, f"/official-accounts/{account.pk}/connect/", language)
    step = page.get_by_test_id("step-authorization")
    step.wait_for()
    assert TEXT[language]["authorization"] in step.locator("h2").inner_text()
    assert page.get_by_test_id("granted-bundles").inner_text() == TEXT[language]["bundles"]
    link = page.get_by_test_id("reauthorize")
    assert link.inner_text() == TEXT[language]["reauthorize"]
    assert link.get_attribute("href") == "/official-accounts/authorize/"
    assert page.get_by_test_id("step-server").count() == 0
    assert page.get_by_test_id("step-credentials").count() == 0
    assert page.locator("input[name=app_secret]").count() == 0
    page.screenshot(path=str(artifacts / f"brand-truth-authorized-wizard-{language}.png"),
                    full_page=True)
