"""The connection wizard in real headless Chromium, against the sandbox."""

import pytest

from accounts.models import OfficialAccount
from tests.accounts.token_support import twin
from tests.factories import PASSWORD, make_account, make_brand, make_member

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_admin_generates_a_token_and_tests_the_connection(
    live_server, page, artifacts, portal_sandbox, settings
):
    settings.SITE_URL = live_server.url
    settings.WECHAT_SANDBOX = True
    brand = make_brand(name="Lumen Hotels Group")
    account = make_account(brand=brand, name="Lumen Shanghai Bund")
    twin(portal_sandbox, account, token=account.token,
         encoding_aes_key=account.encoding_aes_key)
    admin = make_member(brand=brand, role="admin").user

    page.goto(f"{live_server.url}/official-accounts/{account.pk}/")
    page.fill("input[name=login]", admin.email)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.get_by_test_id("connect-account").click()
    assert page.get_by_test_id("callback-url").inner_text().endswith(
        f"/wechat/{account.appid}/callback/"
    )

    page.get_by_test_id("generate-token").click()
    shown = page.get_by_test_id("fresh-secret-value").inner_text()
    assert shown == OfficialAccount.objects.get(pk=account.pk).token

    page.get_by_test_id("test-connection").click()
    page.get_by_test_id("test-report").wait_for()
    assert page.get_by_test_id("test-ok").is_visible()
    assert shown not in page.content()  # shown once only
    page.screenshot(path=str(artifacts / "connection-wizard.png"), full_page=True)
