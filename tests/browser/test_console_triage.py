"""Triage in the console, in real headless Chromium, in English and Chinese.

- The list puts the longest-waiting follower first and says so above it; a reply window
  closing within two hours is marked with the time left; a conversation handed from
  another account shows its handling account and "via" the account the follower writes
  to, in the list and in the thread's header.
- With nothing in Mine and conversations waiting unassigned, the console opens on
  Unassigned; the empty Mine box says how many wait there, as a way back.
- Snoozing moves a conversation to the Snoozed box (with when it comes back); when the
  beat wakes it, the screen learns live and it is back in Mine.
- The reply box has one identity control, saying the exact line a signed reply ends with;
  a transfer is confirmed with where it went and whether the note went with it.
"""

import re
import threading
from collections.abc import Callable
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone
from playwright.sync_api import expect

from accounts.models import Membership
from messaging import services
from messaging.models import Conversation
from tests.browser.console_support import console_sign_in
from tests.browser.test_console import asgi_live_server  # noqa: F401 - fixture
from tests.factories import (
    make_account,
    make_brand,
    make_conversation,
    make_follower,
    make_member,
    make_team,
)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _ago(**delta: float) -> object:
    return timezone.now() - timedelta(**delta)


def _in_thread(work: Callable[[], object]) -> None:
    """Run a service as the server would, off this thread: the eager push uses
    async_to_sync, which Playwright's event loop here would refuse."""
    def run() -> None:
        try:
            work()
        finally:
            connection.close()

    worker = threading.Thread(target=run)
    worker.start()
    worker.join(timeout=10)


def _chinese(page) -> None:  # noqa: ANN001
    page.select_option("[data-testid=language-select]", "zh-hans")
    page.wait_for_selector("html[lang=zh-hans] [data-testid=console][data-connection=online]")


def _hotels() -> dict:
    brand = make_brand(name="Lumen Hotels Group")
    bund = make_account(brand=brand, name="Lumen Shanghai Bund")
    sanlitun = make_account(brand=brand, name="Beijing Sanlitun")
    rival = make_brand(name="Rival Group")
    make_conversation(account=make_account(brand=rival, name="Rival Flagship"))
    agent = make_member(brand=brand, accounts=[bund, sanlitun])
    Membership.objects.filter(pk=agent.pk).update(display_name="Lily")
    return {"brand": brand, "bund": bund, "sanlitun": sanlitun, "agent": agent}


def _waiting(account, *, minutes: float | None, window_hours: float = 1, **fields):  # noqa: ANN001, ANN003, ANN202
    follower = make_follower(account=account, window_at=_ago(hours=window_hours),
                             remark=fields.pop("remark"))
    return make_conversation(
        follower=follower, waiting_since=None if minutes is None else _ago(minutes=minutes),
        last_message_at=_ago(minutes=minutes or 1), **fields,
    )


def test_longest_waiting_first_closing_windows_and_the_unassigned_box(
    asgi_live_server, page, artifacts  # noqa: F811
):
    server = asgi_live_server.url
    w = _hotels()
    bund, sanlitun = w["bund"], w["sanlitun"]
    ten = _waiting(bund, minutes=10, remark="Mr Wang")
    # Wrote 47½ hours ago and waits since: the window closes in half an hour.
    closing = _waiting(bund, minutes=47.5 * 60, window_hours=47.5, remark="Ms Chen")
    answered = _waiting(bund, minutes=None, remark="Mrs Li")
    # Handed from the Bund to Sanlitun: Sanlitun handles it, the guest writes to the Bund.
    handed = _waiting(bund, minutes=30, remark="Dr Zhou", handling_account=sanlitun)

    console_sign_in(page, server, w["agent"])
    # Nothing is Lily's: the console opens on Unassigned, where four wait.
    expect(page.get_by_test_id("box-unassigned")).to_have_attribute("aria-current", "true")
    items = page.get_by_test_id("conversation-item")
    expect(items).to_have_count(4)
    assert [items.nth(i).get_attribute("data-id") for i in range(4)] == [
        str(c.pk) for c in (closing, handed, ten, answered)]
    expect(page.get_by_test_id("list-order")).to_have_text("Longest waiting first")
    marks = page.get_by_test_id("window-closing")
    expect(marks).to_have_count(1)
    expect(items.first.get_by_test_id("window-closing")).to_have_text(
        re.compile(r"^(29|30) min left to reply$"))
    expect(items.nth(1).get_by_test_id("conversation-meta")).to_have_text(
        "Beijing Sanlitun · via Lumen Shanghai Bund · Open · unassigned")
    expect(items.nth(2).get_by_test_id("conversation-meta")).to_have_text(
        "Lumen Shanghai Bund · Open · unassigned")
    items.nth(1).click()
    expect(page.locator("#c-subtitle")).to_have_text(
        "Beijing Sanlitun · via Lumen Shanghai Bund · Open · unassigned")
    page.screenshot(path=str(artifacts / "console-triage-order.png"))

    # Mine is empty, and says what waits in Unassigned, as a way there.
    page.get_by_test_id("box-mine").click()
    expect(page.get_by_test_id("empty-box")).to_contain_text("Nothing here.")
    waiting = page.get_by_test_id("waiting-unassigned")
    expect(waiting).to_have_text("4 conversations waiting in Unassigned")
    page.screenshot(path=str(artifacts / "console-triage-mine-empty.png"))
    waiting.click()
    expect(page.get_by_test_id("box-unassigned")).to_have_attribute("aria-current", "true")
    expect(items).to_have_count(4)

    _chinese(page)
    expect(page.get_by_test_id("box-unassigned")).to_have_attribute("aria-current", "true")
    expect(page.get_by_test_id("list-order")).to_have_text("等待最久的在前")
    expect(page.get_by_test_id("window-closing")).to_have_text(
        re.compile(r"^还剩 (29|30) 分钟 可回复$"))
    expect(items.nth(1).get_by_test_id("conversation-meta")).to_contain_text(
        "Beijing Sanlitun · 经由 Lumen Shanghai Bund")
    page.screenshot(path=str(artifacts / "console-triage-order-zh.png"))
    page.get_by_test_id("box-mine").click()
    expect(page.get_by_test_id("waiting-unassigned")).to_have_text("“未分配”中有 4 个会话在等待")
    page.screenshot(path=str(artifacts / "console-triage-mine-empty-zh.png"))


def test_snoozed_box_and_the_wake_up_arriving_live(asgi_live_server, page, artifacts):  # noqa: F811
    server = asgi_live_server.url
    w = _hotels()
    mine = _waiting(w["bund"], minutes=20, remark="Mr Wang", assignee=w["agent"])
    other = _waiting(w["bund"], minutes=5, remark="Ms Chen", assignee=w["agent"])

    console_sign_in(page, server, w["agent"])
    expect(page.get_by_test_id("box-mine")).to_have_attribute("aria-current", "true")
    items = page.get_by_test_id("conversation-item")
    expect(items).to_have_count(2)
    page.locator(f"[data-testid=conversation-item][data-id='{mine.pk}']").click()
    expect(page.locator("#c-subtitle")).to_contain_text("Lumen Shanghai Bund")
    page.select_option("[data-testid=snooze]", "60")

    # Out of Mine, into Snoozed, with when it comes back.
    expect(items).to_have_count(1)
    expect(page.locator("[data-testid=box-snoozed] .c-count")).to_have_text("1")
    expect(page.locator("[data-testid=box-mine] .c-count")).to_have_text("1")
    page.get_by_test_id("box-snoozed").click()
    expect(page.get_by_test_id("list-order")).to_have_text("Coming back soonest first")
    expect(items).to_have_count(1)
    expect(items.first).to_have_attribute("data-id", str(mine.pk))
    expect(items.first.get_by_test_id("snoozed-until")).to_have_text(re.compile(r"^back .+"))
    page.screenshot(path=str(artifacts / "console-triage-snoozed.png"))

    _chinese(page)
    page.get_by_test_id("box-snoozed").click()
    expect(page.get_by_test_id("box-snoozed")).to_contain_text("已延后")
    expect(page.get_by_test_id("list-order")).to_have_text("最早恢复的在前")
    expect(items.first.get_by_test_id("snoozed-until")).to_have_text(re.compile(r".+ 恢复$"))
    page.screenshot(path=str(artifacts / "console-triage-snoozed-zh.png"))

    # The beat wakes it once its time has come; the screen hears of it and reloads.
    Conversation.objects.filter(pk=mine.pk).update(snoozed_until=_ago(seconds=1))
    _in_thread(services.conversations_wake_snoozed)
    expect(items).to_have_count(0)
    expect(page.locator("[data-testid=box-snoozed] .c-count")).to_have_text("0")
    expect(page.locator("[data-testid=box-mine] .c-count")).to_have_text("2")
    page.get_by_test_id("box-mine").click()
    # Back in its place: it has waited longer than the other.
    expect(items).to_have_count(2)
    assert [items.nth(i).get_attribute("data-id") for i in range(2)] == [
        str(mine.pk), str(other.pk)]


def test_one_identity_control_and_the_transfer_confirmation(
    asgi_live_server, page, artifacts  # noqa: F811
):
    server = asgi_live_server.url
    w = _hotels()
    concierge = make_team(brand=w["brand"], name="Concierge", accounts=[w["sanlitun"]])
    guest = _waiting(w["bund"], minutes=15, remark="Mr Wang", assignee=w["agent"])

    console_sign_in(page, server, w["agent"])
    page.locator(f"[data-testid=conversation-item][data-id='{guest.pk}']").click()
    sign = page.get_by_test_id("sign-toggle")
    # What the follower will see: the reply from the Official Account, ending with this.
    expect(page.get_by_test_id("sign-label")).to_have_text("Sign this reply")
    expect(page.get_by_test_id("sign-preview")).to_have_text("— Lily · Lumen Shanghai Bund")
    expect(sign).not_to_be_checked()
    reply_box = page.get_by_test_id("reply-box")
    expect(reply_box).not_to_contain_text("Send as")
    expect(reply_box).not_to_contain_text("Sign as")
    # The label is the checkbox's: a click on the preview ticks it.
    page.get_by_test_id("sign-preview").click()
    expect(sign).to_be_checked()
    # A private note is never seen by the follower: no signature to offer.
    page.get_by_test_id("note-toggle").check()
    expect(page.locator("#c-sign-row")).to_be_hidden()
    page.get_by_test_id("note-toggle").uncheck()
    expect(page.locator("#c-sign-row")).to_be_visible()
    page.screenshot(path=str(artifacts / "console-triage-identity.png"))

    # Handed to Sanlitun's concierge with a note: Lily still serves Sanlitun, so it stays.
    page.get_by_test_id("transfer").click()
    page.get_by_test_id("transfer-account").select_option(str(w["sanlitun"].pk))
    page.get_by_test_id("transfer-team").select_option(str(concierge.pk))
    page.get_by_test_id("transfer-note").fill("Guest asks for a late checkout")
    page.get_by_test_id("transfer-confirm").click()
    expect(page.get_by_test_id("transfer-dialog")).to_be_hidden()
    expect(page.get_by_test_id("toast")).to_have_text(
        "Handed to Beijing Sanlitun · Concierge, with your note")
    expect(page.locator("#c-subtitle")).to_have_text(
        "Beijing Sanlitun · via Lumen Shanghai Bund · Open · unassigned")
    # Unassigned now, and Mine empty: one form for one.
    expect(page.get_by_test_id("waiting-unassigned")).to_have_text(
        "1 conversation waiting in Unassigned")
    page.screenshot(path=str(artifacts / "console-triage-transferred.png"))

    _chinese(page)
    page.get_by_test_id("box-all").click()
    page.locator(f"[data-testid=conversation-item][data-id='{guest.pk}']").click()
    expect(page.get_by_test_id("sign-label")).to_have_text("为此回复署名")
    # Handled by Sanlitun now: replies are signed as Sanlitun's, sent through the Bund.
    expect(page.get_by_test_id("sign-preview")).to_have_text("— Lily · Beijing Sanlitun")
    expect(page.locator("#c-subtitle")).to_contain_text(
        "Beijing Sanlitun · 经由 Lumen Shanghai Bund")
    # Back to the Bund's queue: not without a note.
    page.get_by_test_id("transfer").click()
    page.get_by_test_id("transfer-account").select_option(str(w["bund"].pk))
    page.get_by_test_id("transfer-confirm").click()
    expect(page.get_by_test_id("toast")).to_have_text(
        "请给接收方写备注：转接的原因以及客人的需要。")
    page.get_by_test_id("transfer-note").fill("客人想回外滩店")
    page.get_by_test_id("transfer-confirm").click()
    expect(page.get_by_test_id("toast")).to_have_text(
        "已转接至 Lumen Shanghai Bund，并附上你的说明")
    page.screenshot(path=str(artifacts / "console-triage-transferred-zh.png"))
    guest.refresh_from_db()
    assert (guest.handling_account_id, guest.team_id) == (w["bund"].pk, None)
