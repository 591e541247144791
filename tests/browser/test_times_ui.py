"""One moment, one reading: in real headless Chromium (whose own zone is Los Angeles here,
to show it plays no part), the console and the account page show the same moment alike,
in the viewer's zone and naming it; after the member picks another zone on My settings,
both follow; and so in Chinese."""

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone

from accounts.models import OfficialAccount
from messaging.models import Message
from tests.browser.console_support import console_sign_in
from tests.browser.test_console import asgi_live_server  # noqa: F401 - fixture
from tests.factories import make_account, make_brand, make_conversation, make_member

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _reading(moment: datetime, zone: str, language: str) -> str:
    """How the moment should read, worked out here by hand: the time alone when it falls
    on today in `zone`, else with its date."""
    local = moment.astimezone(ZoneInfo(zone))
    clock = f"{local.hour:02d}:{local.minute:02d}"
    if local.date() == timezone.now().astimezone(ZoneInfo(zone)).date():
        return clock
    if language == "zh-hans":
        return f"{local.month}月{local.day}日 {clock}"
    return f"{local.month:02d}-{local.day:02d} {clock}"


def _full(moment: datetime, zone: str, language: str) -> str:
    local = moment.astimezone(ZoneInfo(zone))
    clock = f"{local.hour:02d}:{local.minute:02d}"
    if language == "zh-hans":
        return f"{local.year}年{local.month}月{local.day}日 {clock}（{zone}）"
    return f"{local.year}-{local.month:02d}-{local.day:02d} {clock} ({zone})"


def _named(text: str, zone: str, language: str) -> str:
    return f"{text}（{zone}）" if language == "zh-hans" else f"{text} ({zone})"


def test_the_console_and_the_account_page_agree_in_the_viewers_zone(
    asgi_live_server, browser, artifacts  # noqa: F811
):
    server = asgi_live_server.url
    brand = make_brand(name="Lumen Hotels Group")  # Asia/Shanghai, the default
    bund = make_account(brand=brand, name="Lumen Shanghai Bund")
    moment = (timezone.now() - timedelta(minutes=10)).replace(second=0, microsecond=0)
    OfficialAccount.objects.filter(pk=bund.pk).update(last_callback_at=moment)
    conversation = make_conversation(account=bund)
    message = Message.objects.create(
        brand_id=brand.pk, conversation=conversation, account=bund, direction="in",
        content="Is breakfast included?",
    )
    Message.objects.filter(pk=message.pk).update(created_at=moment)
    agent = make_member(brand=brand, accounts=[bund])

    context = browser.new_context(
        viewport={"width": 1280, "height": 860}, locale="en-US",
        timezone_id="America/Los_Angeles",
    )
    page = context.new_page()
    page.set_default_timeout(15_000)

    def console_reads() -> tuple[str, str, str]:
        page.goto(f"{server}/console/")
        page.wait_for_selector("[data-testid=console][data-connection=online]")
        # Once the opening box's list and counts are in, the box chosen here stays.
        page.wait_for_load_state("networkidle")
        page.get_by_test_id("box-all").click()
        page.locator(f"[data-testid=conversation-item][data-id='{conversation.pk}']").click()
        time = page.get_by_test_id("message-in").first.locator("time")
        time.wait_for()
        return (page.get_by_test_id("time-zone").inner_text(), time.inner_text(),
                time.get_attribute("title"))

    def account_reads() -> tuple[str, str]:
        page.goto(f"{server}/official-accounts/{bund.pk}/")
        cell = page.get_by_test_id("last-callback")
        return cell.inner_text(), cell.locator("time").get_attribute("title")

    def check(zone: str, language: str, name: str) -> None:
        zone_label, console_time, console_title = console_reads()
        assert zone_label == zone
        assert console_time == _reading(moment, zone, language)
        assert console_title == _full(moment, zone, language)
        page.screenshot(path=str(artifacts / f"times-console-{name}.png"))
        account_time, account_title = account_reads()
        assert account_time == _named(console_time, zone, language)
        assert account_title == console_title
        page.get_by_test_id("health").screenshot(path=str(artifacts / f"times-account-{name}.png"))

    try:
        console_sign_in(page, server, agent)
        check("Asia/Shanghai", "en", "shanghai-en")

        # The member picks their own zone on My settings, reached from the top bar.
        page.get_by_test_id("my-settings").click()
        page.select_option("select[name=time_zone]", "America/New_York")
        page.get_by_test_id("my-settings-form").locator("button[type=submit]").click()
        said = page.get_by_test_id("current-time-zone")
        assert said.inner_text() == "Times are shown in America/New_York."
        agent.refresh_from_db()
        assert agent.time_zone == "America/New_York"
        check("America/New_York", "en", "new-york-en")

        page.select_option("[data-testid=language-select]", "zh-hans")
        page.wait_for_selector("html[lang=zh-hans]")
        check("America/New_York", "zh-hans", "new-york-zh-hans")
        page.get_by_test_id("my-settings").click()
        assert page.get_by_test_id("current-time-zone").inner_text() == (
            "时间按 America/New_York 显示。"
        )
        page.screenshot(path=str(artifacts / "times-my-settings-zh-hans.png"), full_page=True)

        # Back to the brand's zone (blank): both pages follow again, in Chinese.
        page.select_option("select[name=time_zone]", "")
        page.get_by_test_id("my-settings-form").locator("button[type=submit]").click()
        page.get_by_test_id("current-time-zone").wait_for()
        check("Asia/Shanghai", "zh-hans", "shanghai-zh-hans")
    finally:
        context.close()
