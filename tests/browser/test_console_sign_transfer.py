"""Signed replies and transfers from the console, in real headless Chromium, through the
WeChat sandbox.

The agent ticks "Sign this reply", whose label shows the line the reply will end with
("— Lily · Lumen Shanghai Bund"), with the keyboard and replies; the sandbox follower's
inbox has the reply with that line, and the choice survives a reload. Then, with the
keyboard only, the agent opens the transfer dialog, hands the conversation to Chengdu
Taikoo Li's desk team with a note, and it leaves their list with a confirmation.
"""

import pytest
from playwright.sync_api import expect

from accounts.models import Membership
from messaging.models import Conversation, Message
from tests.browser.console_support import console_sign_in, mirror_in_sandbox
from tests.browser.test_console import asgi_live_server  # noqa: F401 - fixture
from tests.factories import make_account, make_brand, make_member, make_team

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SIGNED = "Your room is ready.\n— Lily · Lumen Shanghai Bund"
NOTE = "Guest moves to Taikoo Li tomorrow"


def test_an_agent_signs_a_reply_then_transfers_with_the_keyboard(
    asgi_live_server, page, artifacts, portal_sandbox, kit  # noqa: F811
):
    server = asgi_live_server.url
    brand = make_brand(name="Lumen Hotels Group")
    bund = make_account(brand=brand, name="Lumen Shanghai Bund", message_mode="safe")
    taikoo = make_account(brand=brand, name="Chengdu Taikoo Li")
    desk = make_team(brand=brand, name="Taikoo Li desk", accounts=[taikoo])
    rival = make_brand(name="Rival Group")
    make_team(brand=rival, name="Rival desk", accounts=[make_account(brand=rival,
                                                                      name="Rival Flagship")])
    mirror_in_sandbox(portal_sandbox, bund, server)
    agent = make_member(brand=brand, accounts=[bund])
    Membership.objects.filter(pk=agent.pk).update(display_name="Lily")
    openid = kit.follow(bund.appid)["openid"]
    push = kit.say(bund.appid, openid, "Is my room ready?", push=True)["push"]
    assert push["status"] == 200, push
    conversation = Conversation.objects.get(follower__openid=openid)

    console_sign_in(page, server, agent)
    page.get_by_test_id("box-all").click()
    item = page.locator(f"[data-testid=conversation-item][data-id='{conversation.pk}']")
    item.wait_for()
    page.keyboard.press("j")

    # One control; the line shown is the server's (reply_identity), the one the reply will
    # end with, and nothing says it is sent from anywhere but the Official Account.
    sign = page.get_by_test_id("sign-toggle")
    expect(page.get_by_test_id("sign-label")).to_have_text("Sign this reply")
    expect(page.get_by_test_id("sign-preview")).to_have_text("— Lily · Lumen Shanghai Bund")
    expect(page.get_by_test_id("reply-box")).not_to_contain_text("Send as")
    expect(sign).not_to_be_checked()
    sign.focus()
    page.keyboard.press("Space")
    expect(sign).to_be_checked()
    page.get_by_test_id("reply-text").focus()
    page.keyboard.type("Your room is ready.")
    page.keyboard.press("Control+Enter")

    sent = page.locator("[data-testid=message-out][data-status=sent]").first
    expect(sent).to_be_visible(timeout=10_000)
    expect(sent.locator(".c-body")).to_have_text(SIGNED)
    reply = Message.objects.get(conversation=conversation, direction="out")
    assert reply.content == SIGNED and reply.payload == {"signed": True}
    inbox = kit.inbox(bund.appid, openid)
    assert [m["text"]["content"] for m in inbox if m["msgtype"] == "text"] == [SIGNED], inbox

    # Remembered across page loads.
    page.reload()
    page.wait_for_selector("[data-testid=console][data-connection=online]")
    page.get_by_test_id("box-all").click()
    item.wait_for()
    page.keyboard.press("j")
    expect(page.get_by_test_id("sign-preview")).to_have_text("— Lily · Lumen Shanghai Bund")
    expect(sign).to_be_checked()

    # "t" opens the dialog on the account choice; Escape closes it without a change.
    dialog = page.get_by_test_id("transfer-dialog")
    account = page.get_by_test_id("transfer-account")
    page.keyboard.press("t")
    expect(dialog).to_be_visible()
    expect(account).to_be_focused()
    # The brand's accounts and teams, beyond the agent's own, and nobody else's.
    expect(account).to_contain_text("Chengdu Taikoo Li")
    expect(account).to_contain_text("Lumen Shanghai Bund (current)")
    expect(page.get_by_test_id("transfer-team")).to_contain_text(
        "Taikoo Li desk (Chengdu Taikoo Li)")
    expect(dialog).not_to_contain_text("Rival")
    page.keyboard.press("Escape")
    expect(dialog).to_be_hidden()
    conversation.refresh_from_db()
    assert conversation.handling_account_id == bund.pk

    # Again from the Transfer button, reached with Tab; focus stays inside the dialog.
    page.get_by_test_id("snooze").focus()
    page.keyboard.press("Tab")
    expect(page.get_by_test_id("transfer")).to_be_focused()
    page.keyboard.press("Enter")
    expect(account).to_be_focused()
    page.keyboard.press("Shift+Tab")
    expect(page.get_by_test_id("transfer-confirm")).to_be_focused()
    page.keyboard.press("Tab")
    expect(account).to_be_focused()

    page.keyboard.press("ArrowDown")  # Chengdu Taikoo Li (accounts are sorted by name)
    expect(account).to_have_value(str(taikoo.pk))
    page.keyboard.press("Tab")
    page.keyboard.press("ArrowDown")  # Taikoo Li desk
    expect(page.get_by_test_id("transfer-team")).to_have_value(str(desk.pk))
    # Another account: the paths there, with relay chosen (the guest does not follow it).
    expect(page.get_by_test_id("transfer-paths")).to_be_visible()
    expect(page.get_by_test_id("transfer-path-relay")).to_be_checked()
    expect(page.get_by_test_id("transfer-path-continue")).to_be_disabled()
    page.keyboard.press("Tab")
    expect(page.get_by_test_id("transfer-agent")).to_be_focused()  # anyone there: the queue
    page.keyboard.press("Tab")
    expect(page.get_by_test_id("transfer-path-relay")).to_be_focused()
    page.keyboard.press("Tab")
    expect(page.get_by_test_id("transfer-note")).to_be_focused()
    page.keyboard.type(NOTE)
    page.screenshot(path=str(artifacts / "console-sign-transfer.png"))
    page.keyboard.press("Tab")
    expect(page.get_by_test_id("transfer-cancel")).to_be_focused()
    page.keyboard.press("Tab")
    expect(page.get_by_test_id("transfer-confirm")).to_be_focused()
    page.keyboard.press("Enter")

    # Out of the agent's queues: the row goes, the thread closes, the dialog too.
    expect(dialog).to_be_hidden()
    expect(item).to_have_count(0)
    expect(page.locator("#c-title")).to_have_text("No conversation open")
    expect(page.get_by_test_id("transfer")).to_be_disabled()
    # Where it went, and that the note went with it.
    expect(page.get_by_test_id("toast")).to_have_text(
        "Handed to Chengdu Taikoo Li · Taikoo Li desk, with your note")
    # Focus lands on the next useful control, not on the now disabled Transfer button.
    expect(page.get_by_test_id("claim-next")).to_be_focused()
    expect(page.locator("[data-testid=box-all] .c-count")).to_have_text("0")
    expect(page.locator("[data-testid=box-unassigned] .c-count")).to_have_text("0")
    conversation.refresh_from_db()
    assert (conversation.handling_account_id, conversation.team_id) == (taikoo.pk, desk.pk)
    assert conversation.assignee_id is None
    line = Message.objects.get(conversation=conversation, direction="system")
    assert line.content == f"→ Taikoo Li desk · Chengdu Taikoo Li\n{NOTE}"
    assert line.sender_id == agent.pk
    page.screenshot(path=str(artifacts / "console-sign-transfer-done.png"))

    # The new strings are translated.
    page.select_option("[data-testid=language-select]", "zh-hans")
    page.wait_for_selector("html[lang=zh-hans] [data-testid=console][data-connection=online]")
    expect(page.get_by_test_id("transfer")).to_have_text("转接")
    expect(page.locator("#c-transfer-title")).to_have_text("转接会话")
