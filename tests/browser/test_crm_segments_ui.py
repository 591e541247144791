"""In Chromium, a brand admin builds a segment: the count above the form changes as the
conditions change (tags, language, an attribute), a refused condition shows its reason
beside the field, and the saved segment lists its first members."""

import pytest

from followers.models import Customer, Segment, Tag
from tests.browser.page_support import brand_admin, sign_in
from tests.factories import make_account, make_brand, make_follower

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _count(page) -> str:  # noqa: ANN001
    return page.get_by_test_id("segment-count-figures").inner_text()


def _wait_for_count(page, text: str) -> None:  # noqa: ANN001
    page.wait_for_function(
        "text => document.querySelector('[data-testid=segment-count-figures]')"
        ".textContent.trim() === text", arg=text)


def test_an_admin_builds_a_segment_and_watches_its_count(live_server, page, artifacts) -> None:
    brand = make_brand(name="Lumen Hotels Group")
    flagship = make_account(brand=brand, name="Lumen Flagship")
    property_ = make_account(brand=brand, name="Lumen Bund")
    vip = Tag.objects.create(brand=brand, name="VIP")
    Tag.objects.create(brand=brand, name="Newsletter")
    gold = Customer.objects.create(brand=brand, name="Wang Fang", attributes={"tier": "gold"})
    for i in range(6):
        follower = make_follower(account=flagship if i % 2 else property_,
                                 language="en" if i < 4 else "zh_CN",
                                 customer=gold if i < 2 else None)
        if i < 5:
            follower.tags.add(vip)
    sign_in(page, live_server, brand_admin(brand), "/crm/segments/new/")
    form = page.get_by_test_id("segment-form")
    _wait_for_count(page, "Followers: 6 · customers: 5")
    form.locator("input[name=name]").fill("English VIPs")
    form.locator("select[name=tags_any]").select_option(label="VIP")
    _wait_for_count(page, "Followers: 5 · customers: 4")
    form.locator("input[name=languages]").fill("en")
    _wait_for_count(page, "Followers: 4 · customers: 3")
    page.screenshot(path=str(artifacts / "crm-segment-live-count.png"), full_page=True)

    row = form.get_by_test_id("attribute-row").first
    row.locator("input[name=attr_key_0]").fill("tier")
    row.locator("select[name=attr_op_0]").select_option("gt")
    row.locator("input[name=attr_value_0]").fill("gold")
    # Not a number to compare with: the reason beside the value, no count.
    page.locator("[data-error-for=attr_value_0]:not([hidden])").wait_for()
    assert "A number" in page.locator("[data-error-for=attr_value_0]").inner_text()
    _wait_for_count(page, "—")
    row.locator("select[name=attr_op_0]").select_option("eq")
    _wait_for_count(page, "Followers: 2 · customers: 1")
    assert page.locator("[data-error-for=attr_value_0]").is_hidden()

    form.get_by_test_id("save-segment").click()
    page.get_by_test_id("segment-members").wait_for()
    segment = Segment.objects.get(brand=brand)
    assert segment.definition == {
        "tags": {"any": [vip.pk]}, "languages": ["en"],
        "attributes": [{"key": "tier", "op": "eq", "value": "gold"}]}
    assert _count(page) == "Followers: 2 · customers: 1"
    members = page.get_by_test_id("segment-members").locator("tbody tr")
    assert members.count() == 2 and "Wang Fang" in members.first.inner_text()
    page.screenshot(path=str(artifacts / "crm-segment-saved.png"), full_page=True)
