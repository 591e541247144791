"""In Chromium, a brand admin opens a customer's page, finds another customer by openid,
merges them (confirming), sees both accounts and the merge in the history, then unmerges."""

import pytest

from followers.models import Campaign, Customer, QRCode
from messaging.models import Conversation
from tests.browser.page_support import brand_admin, sign_in
from tests.factories import make_account, make_brand, make_conversation, make_follower

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_an_admin_merges_two_customers_and_unmerges_them(live_server, page, artifacts) -> None:
    brand = make_brand(name="Lumen Hotels Group")
    flagship = make_account(brand=brand, name="Lumen Flagship", app_secret="")
    resort = make_account(brand=brand, name="Lumen Resort", app_secret="")
    keep = Customer.objects.create(brand=brand, name="Chen Jing", notes="Gold member.")
    other = Customer.objects.create(brand=brand, phone="13800138000", notes="Asked for a "
                                    "late checkout.")
    make_follower(account=flagship, customer=keep, openid="oFLAGSHIP1")
    campaign = Campaign.objects.create(brand=brand, name="Spring fair", channel="event")
    qrcode = QRCode.objects.create(brand=brand, account=resort, campaign=campaign,
                                   kind="permanent", scene="fair")
    theirs = make_follower(account=resort, customer=other, openid="oRESORT22", qrcode=qrcode)
    conversation = make_conversation(follower=theirs)

    sign_in(page, live_server, brand_admin(brand), f"/crm/customers/{keep.pk}/")
    page.get_by_test_id("customer-name").wait_for()
    assert page.get_by_test_id("follower-row").count() == 1
    page.get_by_test_id("merge-search").fill("oRESORT22")
    page.get_by_test_id("merge-search-go").click()
    page.get_by_test_id(f"merge-candidate-{other.pk}").click()
    assert "into Chen Jing" in page.get_by_test_id("merge-summary").inner_text()
    page.get_by_test_id("merge-confirm").click()
    page.get_by_test_id("merge-history").wait_for()

    rows = page.get_by_test_id("follower-row")
    assert rows.count() == 2
    assert "Spring fair" in page.get_by_test_id("customer-followers").inner_text()
    assert "late checkout" in page.locator("textarea[name=notes]").input_value()
    assert page.get_by_test_id("unmerge").count() == 1
    assert "Merged" in page.get_by_test_id("timeline").inner_text()
    assert Conversation.objects.get(pk=conversation.pk).customer_id == keep.pk
    page.screenshot(path=str(artifacts / "crm-identity-merged.png"), full_page=True)

    page.get_by_test_id("unmerge").click()
    page.get_by_test_id("merge-history").wait_for()
    assert page.get_by_test_id("follower-row").count() == 1
    assert page.get_by_test_id("unmerge").count() == 0
    assert "undone" in page.get_by_test_id("merge-history").inner_text()
    assert page.locator("textarea[name=notes]").input_value() == "Gold member."
    assert Conversation.objects.get(pk=conversation.pk).customer_id == other.pk
    page.screenshot(path=str(artifacts / "crm-identity-unmerged.png"), full_page=True)
