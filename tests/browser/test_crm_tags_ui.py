"""The tags pages in headless Chromium: an admin writes the "EN" keyword rule, is told
why a catastrophic pattern is refused, tests a text against the rules, and reads each
tag's status on every account, a WeChat refusal with its reason included."""

import pytest

from followers.models import AccountTag, Tag, TagRule, TagSync
from tests.browser.page_support import brand_admin, sign_in
from tests.factories import make_account, make_brand, make_follower

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_an_admin_writes_the_en_rule_tests_it_and_reads_tag_status(page, live_server,
                                                                      artifacts):
    brand = make_brand(name="Lumen Hotels Group")
    flagship = make_account(brand=brand, name="Lumen Shanghai")
    full = make_account(brand=brand, name="Lumen Macau")
    sign_in(page, live_server, brand_admin(brand), "/crm/tag-rules/new/")

    page.fill("input[name=name]", "Language: English")
    page.select_option("select[name=match]", "regex")
    page.fill("input[name=pattern]", "(e+)+n")
    page.click("[data-testid=tag-rule-form] button[type=submit]")
    assert "repeat inside a repeat" in page.inner_text("[data-testid=tag-rule-form]")
    page.screenshot(path=str(artifacts / "crm-tag-rule-refused.png"), full_page=True)

    page.select_option("select[name=match]", "exact")
    page.fill("input[name=pattern]", "EN")
    page.fill("input[name=add_tags]", "EN")
    page.fill("input[name=remove_tags]", "TC, SC")
    page.select_option("select[name=set_language]", "en")
    page.fill("textarea[name=reply_en]", "Thanks! We will answer in English.")
    page.check("input[name=is_active]")
    page.click("[data-testid=tag-rule-form] button[type=submit]")
    page.wait_for_selector("[data-testid=tag-rule-list]")
    rule = TagRule.objects.get(name="Language: English")
    assert rule.replies == {"en": "Thanks! We will answer in English."}

    page.fill("[data-testid=tag-rule-test] input[name=text]", " en ")
    page.click("[data-testid=tag-rule-test] button[type=submit]")
    assert "Language: English" in page.inner_text("[data-testid=tag-rule-test-result]")
    assert page.get_attribute(f"[data-testid=tag-rule-{rule.pk}]", "data-acting") == "1"
    page.screenshot(path=str(artifacts / "crm-tag-rules-tested.png"), full_page=True)

    tag = Tag.objects.get(brand=brand, name="EN")
    AccountTag.objects.create(brand=brand, tag=tag, account=flagship, wechat_id=101)
    follower = make_follower(account=full)
    follower.tags.add(tag)
    TagSync.objects.create(brand=brand, account=full, follower=follower, tag=tag, op="add",
                           state="failed", errcode=45056,
                           reason="This account already has 100 WeChat tags, the "
                                  "platform's limit: delete one on WeChat first.")
    page.goto(f"{live_server.url}/crm/tags/")
    row = page.inner_text(f"[data-testid=tag-{tag.pk}]")
    assert "Lumen Shanghai" in row and "WeChat tag 101" in row
    assert "already has 100 WeChat tags" in page.inner_text("[data-testid=tag-error]")
    page.screenshot(path=str(artifacts / "crm-tags-status.png"), full_page=True)
