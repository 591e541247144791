"""The QR campaigns page in headless Chromium: an admin creates a campaign and a QR code
(made on the sandbox), downloads the poster PNG, people follow through the code (pushed by
the sandbox to the live server), one leaves, and the admin reads the campaign's report."""

import pytest

from followers.models import QRCode
from tests.browser.page_support import brand_admin, sign_in
from tests.factories import make_brand
from tests.messaging.callback_support import connected_account

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_an_admin_creates_a_qr_campaign_and_reads_its_report(page, live_server, portal_sandbox,
                                                             artifacts, settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path)
    brand = make_brand(name="Lumen Hotels Group")
    account = connected_account(portal_sandbox, live_server, brand=brand,
                                name="Lumen Shanghai", verified=True)
    sign_in(page, live_server, brand_admin(brand), "/crm/campaigns/")

    page.fill("[data-testid=campaign-name]", "KOL summer")
    page.select_option("[data-testid=campaign-channel]", "kol")
    page.click("[data-testid=campaign-create]")
    page.wait_for_selector("[data-testid=qrcode-form]")
    page.select_option("[data-testid=qrcode-kind]", "permanent")
    page.fill("[data-testid=qrcode-scene]", "100001")
    page.click("[data-testid=qrcode-create]")
    assert "1 to 100,000" in page.inner_text("ul.messages")
    assert not QRCode.objects.exists()
    page.select_option("[data-testid=qrcode-kind]", "temporary")
    page.fill("[data-testid=qrcode-scene]", "kol-summer")
    page.fill("[data-testid=qrcode-days]", "14")
    page.click("[data-testid=qrcode-create]")
    page.wait_for_selector("[data-testid=qrcode-png]")
    code = QRCode.objects.get(scene="kol-summer")
    assert code.account_id == account.pk and code.expires_at is not None
    with page.expect_download() as download:
        page.click("[data-testid=qrcode-png]")
    assert download.value.suggested_filename == f"qrcode-{code.pk}.png"

    ctl = portal_sandbox.control
    openids = [ctl("POST", f"/accounts/{account.appid}/followers", {"ticket": code.ticket})
               ["openid"] for _ in range(3)]
    ctl("POST", f"/accounts/{account.appid}/followers/{openids[0]}/unfollow", {})

    # The report link carries the period of the page it is on; the page is opened again
    # after the follows, so its period ("the last 7 days") holds the unfollow's day even
    # when the run crosses midnight in Shanghai (it once did, and read 0 in the period).
    page.goto(f"{live_server.url}/crm/campaigns/")
    page.click("[data-testid=campaign-report-link]")
    page.wait_for_selector("[data-testid=retention-row]")
    row = page.inner_text("[data-testid=retention-row]")
    assert "KOL summer" in row
    assert row.split("\t")[2:] == ["3", "2", "1", "1"]
    assert page.inner_text("[data-testid=follows]") == "3"
    page.screenshot(path=str(artifacts / "crm-campaign-report.png"), full_page=True)
