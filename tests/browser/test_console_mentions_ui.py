"""Private consultation, the timeline and the due flags, in two browser contexts.

Lily (the booking account's agent) sees her list flag a conversation past its response
target and one close to it. She opens the overdue one and @mentions Wang (who serves the
Bund, and cannot see it) in a private note, picking him from the composer's suggestions.
Wang's screen shows the toast live; he opens the conversation he could not see before,
reads the note and the timeline's routing decision, and dismisses the mention, when the
conversation leaves his screen again.
"""

import re
from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from accounts.models import Membership
from messaging.models import Conversation, Mention
from routing.models import RoutingDecision, RoutingRule
from tests.browser.console_support import console_sign_in
from tests.browser.test_console import asgi_live_server  # noqa: F401 - fixture
from tests.factories import make_account, make_brand, make_conversation, make_member, make_team

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _world() -> dict:
    brand = make_brand(name="Lumen Hotels Group")
    booking = make_account(brand=brand, name="Lumen Booking")
    bund = make_account(brand=brand, name="Lumen Shanghai Bund")
    reservations = make_team(brand=brand, name="Reservations", accounts=[booking])
    lily = make_member(brand=brand, accounts=[booking])
    wang = make_member(brand=brand, accounts=[bund])
    Membership.objects.filter(pk=lily.pk).update(display_name="Lily", presence="online")
    Membership.objects.filter(pk=wang.pk).update(display_name="Wang", presence="online")
    now = timezone.now()
    overdue = make_conversation(account=booking, team=reservations)
    near = make_conversation(account=booking, team=reservations)
    # Half a minute inside the minute, so the flags read the same for the next 30 s.
    Conversation.objects.filter(pk=overdue.pk).update(
        response_due_at=now - timedelta(minutes=12, seconds=30))
    Conversation.objects.filter(pk=near.pk).update(
        response_due_at=now + timedelta(minutes=3, seconds=30))
    rule = RoutingRule.objects.create(brand=brand, name="Airport pick-up", action="team",
                                      team=reservations)
    RoutingDecision.objects.create(
        brand=brand, conversation=overdue, kind="routed", rule=rule, rule_name=rule.name,
        language="en", account=booking, team=reservations,
        steps=[{"step": "language", "language": "en", "source": "text"}])
    return {"lily": lily, "wang": wang, "overdue": overdue, "near": near}


def _row(page, conversation):  # noqa: ANN001, ANN202
    return page.locator(f"[data-testid=conversation-item][data-id='{conversation.pk}']")


def test_a_mention_reaches_the_colleague_live_who_then_reads_and_dismisses_it(
    asgi_live_server, page, browser, artifacts  # noqa: F811
):
    server = asgi_live_server.url
    w = _world()
    lily = page
    console_sign_in(lily, server, w["lily"])
    lily.get_by_test_id("box-all").click()
    # The due flags: styled by how close the target is, re-evaluated on the page's clock.
    overdue_flag = _row(lily, w["overdue"]).get_by_test_id("due-flag")
    expect(overdue_flag).to_have_text(re.compile(r"^Overdue 1[23] min$"))
    expect(overdue_flag).to_have_attribute("data-due", "breached")
    near_flag = _row(lily, w["near"]).get_by_test_id("due-flag")
    expect(near_flag).to_have_text(re.compile(r"^Due in [34] min$"))
    expect(near_flag).to_have_attribute("data-due", "near")

    wang_context = browser.new_context(viewport={"width": 1280, "height": 860},
                                       locale="en-US")
    wang = wang_context.new_page()
    wang.set_default_timeout(15_000)
    console_sign_in(wang, server, w["wang"])
    wang.get_by_test_id("box-all").click()
    expect(wang.get_by_test_id("conversation-list")).to_have_attribute("data-box", "all")
    expect(_row(wang, w["overdue"])).to_have_count(0)

    _row(lily, w["overdue"]).click()
    expect(lily.get_by_test_id("open-due-flag")).to_have_text(
        re.compile(r"^Overdue 1[23] min$"))
    lily.get_by_test_id("note-toggle").check()
    lily.get_by_test_id("reply-text").press_sequentially("@Wa")
    candidate = lily.get_by_test_id("mention-candidate")
    expect(candidate).to_have_text(["Wang"])
    candidate.dispatch_event("mousedown")
    expect(lily.get_by_test_id("reply-text")).to_have_value("@Wang ")
    lily.get_by_test_id("reply-text").press_sequentially("can you arrange the airport pick-up?")
    lily.screenshot(path=str(artifacts / "console-mention-compose.png"))
    lily.get_by_test_id("send").click()
    expect(lily.get_by_test_id("message-note")).to_have_count(1)

    toast = wang.get_by_test_id("mention-toast")
    expect(toast).to_be_visible()
    expect(wang.get_by_test_id("mention-toast-text")).to_have_text(
        "Lily mentioned you: @Wang can you arrange the airport pick-up?")
    expect(wang.locator("[data-testid=box-mentioned] .c-count")).to_have_text("1")
    wang.screenshot(path=str(artifacts / "console-mention-toast.png"))
    wang.get_by_test_id("mention-open").click()
    expect(toast).to_be_hidden()
    expect(wang.get_by_test_id("message-note")).to_have_count(1)
    expect(wang.get_by_test_id("message-note")).to_contain_text("@Wang can you arrange")
    expect(wang.get_by_test_id("mention-end")).to_be_visible()

    wang.get_by_test_id("tab-timeline").click()
    expect(wang.get_by_test_id("timeline-entry")).to_have_text([re.compile(
        r"Routed by rule “Airport pick-up” to Reservations · Lumen Booking "
        r"\(English, from the text\)$")])
    wang.screenshot(path=str(artifacts / "console-mention-timeline.png"))

    wang.get_by_test_id("mention-end").click()
    expect(wang.locator("#c-title")).to_have_text("No conversation open")
    expect(wang.locator("[data-testid=box-mentioned] .c-count")).to_have_text("0")
    assert Mention.objects.get().ended_at is not None
    wang_context.close()


def test_the_due_flag_follows_the_clock_without_an_event(
    asgi_live_server, page, artifacts  # noqa: F811
):
    w = _world()
    page.clock.install()
    console_sign_in(page, asgi_live_server.url, w["lily"])
    page.get_by_test_id("box-all").click()
    flag = _row(page, w["near"]).get_by_test_id("due-flag")
    expect(flag).to_have_attribute("data-due", "near")
    # Five minutes on the page's clock, nothing from the server: the minute's re-check
    # turns "due in" into "overdue".
    page.clock.fast_forward("05:00")
    expect(flag).to_have_attribute("data-due", "breached")
    expect(flag).to_have_text(re.compile(r"^Overdue [12] min$"))
    page.screenshot(path=str(artifacts / "console-due-flags.png"))
