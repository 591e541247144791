"""A campaign's page in headless Chromium: two codes made on the sandbox, people follow
through one (pushed by the sandbox to the live server) and one leaves; the admin opens the
campaign from the list, renames it, deletes the unused code behind its confirmation and
reads the campaign's report."""

from pathlib import Path

import pytest

from followers import campaigns
from followers.models import Campaign, QRCode
from tests.browser.page_support import brand_admin, sign_in
from tests.factories import make_brand, owner_scope
from tests.messaging.callback_support import connected_account

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_an_admin_renames_a_campaign_deletes_a_code_and_reads_its_report(
        page, live_server, portal_sandbox, artifacts, settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path)
    brand = make_brand(name="Lumen Hotels Group")
    account = connected_account(portal_sandbox, live_server, brand=brand,
                                name="Lumen Shanghai", verified=True)
    scope = owner_scope(brand)
    campaign = campaigns.campaign_create(scope=scope, name="KOL spring", channel="kol")
    used = campaigns.qrcode_create(scope=scope, campaign=campaign, account=account,
                                   kind="temporary", scene="kol-spring", expires_in_days=14)
    unused = campaigns.qrcode_create(scope=scope, campaign=campaign, account=account,
                                     kind="permanent", scene="4242")
    ctl = portal_sandbox.control
    openids = [ctl("POST", f"/accounts/{account.appid}/followers", {"ticket": used.ticket})
               ["openid"] for _ in range(3)]
    ctl("POST", f"/accounts/{account.appid}/followers/{openids[0]}/unfollow", {})

    sign_in(page, live_server, brand_admin(brand), "/crm/campaigns/")
    page.click(f"[data-testid=campaign-{campaign.pk}] [data-testid=campaign-link]")
    page.wait_for_selector("[data-testid=campaign-edit-form]")
    assert page.inner_text("[data-testid=campaign-follows]") == "3"
    assert page.inner_text(f"[data-testid=qrcode-{used.pk}] [data-testid=qrcode-follows]") == "3"

    page.fill("[data-testid=campaign-edit-name]", "KOL spring, Shanghai")
    page.select_option("[data-testid=campaign-edit-channel]", "event")
    page.click("[data-testid=campaign-save]")
    page.wait_for_selector("ul.messages")
    assert "Campaign saved." in page.inner_text("ul.messages")
    assert page.inner_text("[data-testid=campaign-title]") == "Campaign “KOL spring, Shanghai”"
    assert Campaign.objects.get(pk=campaign.pk).channel == "event"

    page.click(f"[data-testid=qrcode-{unused.pk}] [data-testid=qrcode-delete]")
    page.wait_for_selector("[data-testid=confirm-delete]")
    assert "4242" in page.inner_text("h1")
    page.click("[data-testid=confirm-delete]")
    page.wait_for_selector("[data-testid=campaign-qrcode-list]")
    assert "QR code 4242 deleted." in page.inner_text("ul.messages")
    assert page.locator(f"[data-testid=qrcode-{unused.pk}]").count() == 0
    assert list(QRCode.objects.values_list("scene", flat=True)) == ["kol-spring"]

    row = page.inner_text("[data-testid=retention-row]")
    assert "KOL spring, Shanghai" in row
    assert row.split("\t")[2:] == ["3", "2", "1", "1"]
    with page.expect_download() as download:
        page.click("[data-testid=report-csv]")
    report = Path(download.value.path()).read_text(encoding="utf-8")
    assert "KOL spring, Shanghai" in report and "No campaign" not in report
    page.screenshot(path=str(artifacts / "crm-campaign-detail.png"), full_page=True)
