"""The brand pages in real headless Chromium, in English and Chinese: every error beside
its field on one submit, pages titled with the page and the brand, destructive actions
confirmed with what they do, sign-ins landing where the member works, errors in plain
sentences, a sign-in page that says how to join, and a sandbox consent page that looks
like the product."""

import pytest

from accounts.models import Membership, OfficialAccount, Team
from accounts.services import api_key_create
from tests.accounts.platform_support import make_platform, push_ticket
from tests.browser.page_support import brand_admin, in_chinese, sign_in
from tests.factories import make_account, make_brand, make_member, make_team, make_user

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

BRAND = "Lumen Hotels Group"


def _error_under_its_field(page, name: str) -> str:  # noqa: ANN001
    wrapper = page.locator(f".field[data-field={name}]")
    error = wrapper.locator(f"#id_{name}_error")
    assert error.is_visible()
    widget = wrapper.locator(f"[name={name}]").first.bounding_box()
    spot, box = error.bounding_box(), wrapper.bounding_box()
    assert spot["y"] >= widget["y"] + widget["height"] - 1
    assert box["y"] <= spot["y"] and spot["y"] + spot["height"] <= box["y"] + box["height"]
    return error.inner_text()


def test_the_member_form_shows_every_error_beside_its_field(live_server, page, artifacts):
    brand = make_brand(name=BRAND)
    lily = make_member(brand=brand, role="agent", user=make_user(name="Lily"))
    sign_in(page, live_server, brand_admin(brand), f"/members/{lily.pk}/edit/")
    form = page.get_by_test_id("member-form")

    # An admin may not make owners, and the capacity is left empty: one submit, both said.
    page.select_option("select[name=role]", "owner")
    page.fill("input[name=capacity]", "")
    form.locator("button[type=submit]").click()
    page.locator("#id_role_error").wait_for()
    assert _error_under_its_field(page, "role") == "Only an owner can make someone an owner."
    assert _error_under_its_field(page, "capacity") == "This field is required."
    assert page.locator(".errors").count() == 0
    page.screenshot(path=str(artifacts / "brand-forms-member-errors.png"), full_page=True)

    in_chinese(page)
    page.select_option("select[name=role]", "owner")
    page.fill("input[name=capacity]", "")
    page.get_by_test_id("member-form").locator("button[type=submit]").click()
    page.wait_for_selector("html[lang=zh-hans] #id_role_error")
    assert _error_under_its_field(page, "role") == "只有所有者才能将他人设为所有者。"
    assert _error_under_its_field(page, "capacity") == "该字段是必填项。"
    page.screenshot(path=str(artifacts / "brand-forms-member-errors-zh-hans.png"),
                    full_page=True)
    lily.refresh_from_db()
    assert lily.role == "agent"


def test_the_team_form_shows_a_taken_name_and_missing_accounts_at_once(
    live_server, page, artifacts
):
    brand = make_brand(name=BRAND)
    account = make_account(brand=brand, name="Lumen Shanghai Bund")
    make_team(brand=brand, name="Concierge", accounts=[account])
    manager = make_member(brand=brand, role="manager", accounts=[account]).user
    sign_in(page, live_server, manager, "/teams/")
    page.fill("input[name=name]", "Concierge")
    page.get_by_test_id("new-team-form").locator("button[type=submit]").click()
    page.locator("#id_name_error").wait_for()
    assert _error_under_its_field(page, "name") == "A team with this name exists."
    assert _error_under_its_field(page, "accounts") == "Choose the accounts this team answers for."
    page.screenshot(path=str(artifacts / "brand-forms-team-errors.png"), full_page=True)

    in_chinese(page)
    page.fill("input[name=name]", "Concierge")
    page.get_by_test_id("new-team-form").locator("button[type=submit]").click()
    page.wait_for_selector("html[lang=zh-hans] #id_name_error")
    assert _error_under_its_field(page, "name") == "已存在同名团队。"
    page.screenshot(path=str(artifacts / "brand-forms-team-errors-zh-hans.png"), full_page=True)
    assert Team.objects.filter(brand=brand).count() == 1


def test_every_page_is_titled_with_itself_and_the_brand(live_server, page, artifacts):
    brand = make_brand(name=BRAND)
    owner = Membership.objects.get(brand=brand, role="owner").user
    sign_in(page, live_server, owner)
    pages = {
        "/": ("Official accounts", "公众号"),
        "/official-accounts/new/": ("Add account", "添加公众号"),
        "/members/": ("Members", "成员"),
        "/teams/": ("Teams", "团队"),
        "/api-keys/": ("API keys", "API 密钥"),
        "/settings/": ("Brand settings", "品牌设置"),
    }
    for path, (english, _chinese) in pages.items():
        page.goto(f"{live_server.url}{path}")
        assert page.title() == f"{english} · {BRAND}", path
        assert page.locator("h1").inner_text() == english, path
    # A new account has no secret to keep.
    page.goto(f"{live_server.url}/official-accounts/new/")
    hint = page.locator("#id_app_secret_helptext")
    assert "connection wizard" in hint.inner_text() and "keep" not in hint.inner_text()
    page.screenshot(path=str(artifacts / "brand-forms-add-account.png"), full_page=True)
    page.goto(f"{live_server.url}/console/")
    assert page.title() == f"Console · {BRAND}"

    page.goto(f"{live_server.url}/")
    in_chinese(page)
    for path, (_english, chinese) in pages.items():
        page.goto(f"{live_server.url}{path}")
        assert page.title() == f"{chinese} · {BRAND}", path
        assert page.locator("h1").inner_text() == chinese, path
    page.goto(f"{live_server.url}/official-accounts/new/")
    assert "也可以稍后在接入向导中填写" in page.locator("#id_app_secret_helptext").inner_text()
    page.screenshot(path=str(artifacts / "brand-forms-add-account-zh-hans.png"), full_page=True)
    page.goto(f"{live_server.url}/console/")
    assert page.title() == f"客服台 · {BRAND}"


def test_removing_a_member_asks_first_and_says_what_happens(live_server, page, artifacts):
    brand = make_brand(name=BRAND)
    lily = make_member(brand=brand, role="agent", user=make_user(name="Lily"))
    sign_in(page, live_server, brand_admin(brand), "/members/")

    row = page.get_by_test_id("member-list").locator("tr", has_text=lily.user.email)
    row.get_by_test_id("remove-member").click()
    assert page.locator("h1").inner_text() == f"Remove Lily from {BRAND}?"
    said = page.get_by_test_id("consequences").inner_text()
    assert "Lily loses access at once" in said
    assert "No open conversation is assigned to them." in said
    page.screenshot(path=str(artifacts / "brand-forms-remove-member.png"), full_page=True)
    page.get_by_test_id("cancel").click()
    page.get_by_test_id("member-list").wait_for()
    assert Membership.objects.filter(pk=lily.pk).exists()

    row = page.get_by_test_id("member-list").locator("tr", has_text=lily.user.email)
    row.get_by_test_id("remove-member").click()
    page.get_by_test_id("confirm").click()
    page.get_by_test_id("member-list").wait_for()
    assert "Member removed." in page.locator(".messages").inner_text()
    assert not Membership.objects.filter(pk=lily.pk).exists()


def test_deleting_a_team_and_revoking_a_key_ask_firstin_chinese(live_server, page, artifacts):
    brand = make_brand(name=BRAND)
    team = make_team(brand=brand, name="Concierge")
    key, _raw = api_key_create(brand=brand, name="CRM sync")
    sign_in(page, live_server, brand_admin(brand), "/teams/")
    in_chinese(page)

    page.get_by_test_id("delete-team").click()
    page.wait_for_selector("html[lang=zh-hans] [data-testid=consequences]")
    assert page.locator("h1").inner_text() == "要删除团队 Concierge 吗？"
    assert "此操作无法撤销。" in page.get_by_test_id("consequences").inner_text()
    page.screenshot(path=str(artifacts / "brand-forms-delete-team-zh-hans.png"), full_page=True)
    page.get_by_test_id("confirm").click()
    page.get_by_test_id("team-list").wait_for()
    assert "团队已删除。" in page.locator(".messages").inner_text()
    assert not Team.objects.filter(pk=team.pk).exists()

    page.goto(f"{live_server.url}/api-keys/")
    page.get_by_test_id("revoke-key").click()
    assert page.locator("h1").inner_text() == "要吊销密钥 CRM sync 吗？"
    assert key.prefix in page.get_by_test_id("consequences").inner_text()
    page.screenshot(path=str(artifacts / "brand-forms-revoke-key-zh-hans.png"), full_page=True)
    page.get_by_test_id("confirm").click()
    page.wait_for_url(f"{live_server.url}/api-keys/")
    key.refresh_from_db()
    assert key.revoked_at is not None


def test_agents_land_on_the_console_admins_on_the_brand_home(live_server, browser):
    brand = make_brand(name=BRAND)
    agent = make_member(brand=brand, role="agent").user
    landed = {}
    for who, user, start in [("agent", agent, "/auth/login/"),
                             ("admin", brand_admin(brand), "/auth/login/"),
                             ("agent asking for teams", agent, "/teams/")]:
        context = browser.new_context(locale="en-US")
        page = context.new_page()
        sign_in(page, live_server, user, start)
        landed[who] = page.url.removeprefix(live_server.url)
        context.close()
    assert landed == {"agent": "/console/", "admin": "/", "agent asking for teams": "/teams/"}


def test_a_sandbox_that_does_not_answer_is_told_in_a_sentence(
    live_server, page, artifacts, settings
):
    settings.WECHAT_SANDBOX = True
    settings.WECHAT_API_BASE = "http://127.0.0.1:9"  # nothing listens there
    brand = make_brand(name=BRAND)
    account = make_account(brand=brand, name="Lumen Shanghai Bund", app_secret="s" * 32)
    sign_in(page, live_server, brand_admin(brand), f"/official-accounts/{account.pk}/connect/")
    page.get_by_test_id("test-connection").click()
    report = page.get_by_test_id("test-report")
    report.wait_for()
    text = report.inner_text()
    assert "The WeChat sandbox does not answer." in text and "python -m wechat.sandbox" in text
    assert "127.0.0.1:9" not in text and "could not be asked" not in text
    page.screenshot(path=str(artifacts / "brand-forms-sandbox-down.png"), full_page=True)

    in_chinese(page)
    page.get_by_test_id("test-connection").click()
    page.wait_for_selector("html[lang=zh-hans] [data-testid=test-report]")
    assert "微信沙盒没有响应。" in page.get_by_test_id("test-report").inner_text()
    page.screenshot(path=str(artifacts / "brand-forms-sandbox-down-zh-hans.png"),
                    full_page=True)


def test_the_operations_admin_shows_health_in_words(live_server, page, artifacts):
    brand = make_brand(name=BRAND)
    make_account(brand=brand, name="Lumen Shanghai Bund", app_secret="s" * 32)
    make_account(brand=brand, name="Lumen Old Town", is_active=False)
    operator = make_user(email="operator@example.com")
    operator.is_staff = operator.is_superuser = True
    operator.save()
    sign_in(page, live_server, operator, "/auth/login/?next=/admin/accounts/officialaccount/")
    listing = page.locator("#result_list")
    listing.wait_for()
    health = listing.locator("td.field-health_words").all_inner_texts()
    assert sorted(health) == ["Not connected", "Waiting for first callback"]
    page.screenshot(path=str(artifacts / "brand-forms-admin-health.png"), full_page=True)
    page.context.add_cookies([{"name": "django_language", "value": "zh-hans",
                               "url": live_server.url}])
    page.reload()
    health = page.locator("#result_list td.field-health_words").all_inner_texts()
    assert sorted(health) == ["未接入", "等待首次回调"]


def test_the_sign_in_page_says_how_to_join(live_server, page, artifacts):
    page.goto(f"{live_server.url}/auth/login/")
    assert page.title() == "Sign In · Brand Portal"
    assert "Members join by invitation" in page.get_by_test_id("how-to-join").inner_text()
    assert page.get_by_role("link", name="sign up").count() == 0
    assert page.locator("a[href*='/auth/signup/']").count() == 0
    page.screenshot(path=str(artifacts / "brand-forms-sign-in.png"), full_page=True)

    in_chinese(page)
    assert "成员通过邀请加入" in page.get_by_test_id("how-to-join").inner_text()
    assert "注册" not in page.locator("main").inner_text()
    page.screenshot(path=str(artifacts / "brand-forms-sign-in-zh-hans.png"), full_page=True)


def test_the_sandbox_consent_page_looks_like_the_product(
    live_server, page, artifacts, portal_sandbox, settings
):
    settings.WECHAT_CONSENT_URL = f"{portal_sandbox.base_url}/cgi-bin/componentloginpage"
    platform = make_platform(portal_sandbox, auth_event_url=f"{live_server.url}/wechat/platform/")
    push_ticket(portal_sandbox, platform)
    oa = portal_sandbox.control(
        "POST", "/accounts", {"name": "Lumen Harbour Hotel", "kind": "service", "verified": True}
    )
    brand = make_brand(name=BRAND)
    sign_in(page, live_server, brand_admin(brand))
    portal_button = page.get_by_test_id("add-account").evaluate(
        "el => getComputedStyle(el).backgroundColor")
    portal_font = page.evaluate("getComputedStyle(document.body).fontFamily")

    page.get_by_test_id("authorize-account").click()
    page.wait_for_url(f"{portal_sandbox.base_url}/cgi-bin/componentloginpage*")
    note = page.get_by_test_id("stand-in")
    assert "stands in for WeChat's authorization page" in note.inner_text()
    assert "本页是沙盒模拟的微信授权页面" in note.inner_text()
    authorize = page.get_by_role("button", name="Authorize")
    assert authorize.evaluate("el => getComputedStyle(el).backgroundColor") == portal_button
    assert page.evaluate("getComputedStyle(document.body).fontFamily") == portal_font
    page.screenshot(path=str(artifacts / "brand-forms-sandbox-consent.png"), full_page=True)

    page.check(f"input[name=appid][value={oa['appid']}]")
    authorize.click()
    page.wait_for_url(f"{live_server.url}/official-accounts/*/")
    assert OfficialAccount.objects.get(appid=oa["appid"]).brand_id == brand.pk
