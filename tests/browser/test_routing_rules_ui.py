"""In Chromium, a brand admin orders the routing rules: by dragging one to the top (saved
by the page's script) and with the up and down buttons (plain forms); then creates a rule
through its form and reads it back as a sentence, and sees the page in Chinese."""

import pytest

from routing.models import RoutingRule
from routing.rules_admin import rule_create
from tests.browser.page_support import brand_admin, in_chinese, sign_in
from tests.factories import make_brand, make_team, owner_scope

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _order(brand) -> list[str]:  # noqa: ANN001
    return list(RoutingRule.objects.filter(brand=brand).order_by("position")
                .values_list("name", flat=True))


def _shown(page) -> list[str]:  # noqa: ANN001
    return [row.locator("td").nth(1).inner_text()
            for row in page.locator("[data-testid=rule-list] tbody tr").all()]


def test_an_admin_reorders_rules_by_drag_and_by_buttons(live_server, page, artifacts) -> None:
    brand = make_brand(name="Lumen Hotels Group")
    scope = owner_scope(brand)
    first, _second, third = (rule_create(scope=scope, name=n, action="central",
                                         keywords=[n.lower()])
                             for n in ("Airport", "Breakfast", "Traditional"))
    sign_in(page, live_server, brand_admin(brand), "/routing/rules/")
    page.get_by_test_id("rule-list").wait_for()
    assert page.title() == "Routing rules · Lumen Hotels Group"
    assert _shown(page) == ["Airport", "Breakfast", "Traditional"]

    page.drag_and_drop(f"[data-testid=rule-{third.pk}]", f"[data-testid=rule-{first.pk}]")
    page.wait_for_function(
        "() => document.querySelector('[data-reorder-url]').dataset.savedOrder === "
        f"'{third.pk},{first.pk},{_second.pk}'")
    assert _order(brand) == ["Traditional", "Airport", "Breakfast"]
    page.screenshot(path=str(artifacts / "routing-rules-dragged.png"), full_page=True)

    page.reload()
    assert _shown(page) == ["Traditional", "Airport", "Breakfast"]
    page.get_by_test_id(f"rule-{first.pk}").get_by_test_id("move-down").click()
    page.wait_for_url(f"**/routing/rules/#rule-{first.pk}")
    assert _shown(page) == ["Traditional", "Breakfast", "Airport"]
    page.get_by_test_id(f"rule-{first.pk}").get_by_test_id("move-up").click()
    page.wait_for_url(f"**/routing/rules/#rule-{first.pk}")
    assert _order(brand) == ["Traditional", "Airport", "Breakfast"]
    assert page.get_by_test_id(f"rule-{third.pk}").get_by_test_id("move-up").is_disabled()
    page.screenshot(path=str(artifacts / "routing-rules-buttons.png"), full_page=True)


def test_an_admin_creates_a_rule_and_reads_it_in_chinese(live_server, page, artifacts) -> None:
    brand = make_brand(name="Lumen Hotels Group")
    make_team(brand=brand, name="Concierge")
    sign_in(page, live_server, brand_admin(brand), "/routing/rules/")
    page.get_by_test_id("new-rule").click()
    form = page.get_by_test_id("rule-form")
    form.locator("input[name=name]").fill("Airport pick-up")
    form.locator("input[name=keywords]").fill("airport, 接机")
    form.locator("input[name=action][value=team]").check()
    form.locator("button[type=submit]").click()
    # "A team" without its team: the sentence beside the field, nothing saved.
    page.locator("#id_team_error").wait_for()
    assert "Choose the team this rule sends conversations to." in page.locator(
        "#id_team_error").inner_text()
    assert not RoutingRule.objects.exists()
    page.screenshot(path=str(artifacts / "routing-rule-form-error.png"), full_page=True)
    page.get_by_test_id("rule-form").locator("select[name=team]").select_option(
        label="Concierge")
    page.get_by_test_id("rule-form").locator("button[type=submit]").click()
    page.get_by_test_id("rule-list").wait_for()
    summary = page.get_by_test_id("rule-summary").first.inner_text()
    assert summary == "Text contains “airport” or “接机” · any account → Concierge"
    page.screenshot(path=str(artifacts / "routing-rules-created.png"), full_page=True)

    in_chinese(page)
    assert page.title() == "路由规则 · Lumen Hotels Group"
    assert page.get_by_test_id("rule-summary").first.inner_text() == (
        "文字包含“airport”或“接机” · 任意公众号 → Concierge")
    page.screenshot(path=str(artifacts / "routing-rules-zh-hans.png"), full_page=True)


def test_an_admin_sets_a_teams_targets_and_reads_the_settings(live_server, page,
                                                              artifacts) -> None:
    brand = make_brand(name="Lumen Hotels Group")
    team = make_team(brand=brand, name="Concierge")
    sign_in(page, live_server, brand_admin(brand), "/routing/targets/")
    row = page.get_by_test_id(f"targets-{team.pk}")
    row.locator(f"input[name='team-{team.pk}-first_response_minutes']").fill("5")
    row.locator(f"input[name='team-{team.pk}-next_response_minutes']").fill("15")
    row.get_by_test_id("save-targets").click()
    page.get_by_text("Targets of Concierge saved.").wait_for()
    team.refresh_from_db()
    assert (team.targets.first_response_minutes, team.targets.next_response_minutes) == (5, 15)
    page.screenshot(path=str(artifacts / "routing-targets.png"), full_page=True)
    page.goto(f"{live_server.url}/teams/")
    assert "first 5 min · next 15 min" in page.get_by_test_id("team-targets").inner_text()
    page.goto(f"{live_server.url}/routing/settings/")
    assert "Least busy: the free agent" in page.get_by_test_id("settings-form").inner_text()
    page.screenshot(path=str(artifacts / "routing-settings.png"), full_page=True)
