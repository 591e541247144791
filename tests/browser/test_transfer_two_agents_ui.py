"""An account-to-account relay transfer between two agents, in two browser contexts,
through the WeChat sandbox.

A guest writes to the flagship. Lily, the flagship's agent, hands them to the Shanghai
Bund property's concierge team by relay, with a note. Chen, the Bund's concierge, has the
console open: the banner "Transferred to you by Lily: <note>" appears live; he accepts,
and Lily's screen says so live. Chen replies; the guest's sandbox inbox has the reply,
sent through the flagship (the account they wrote to), signed as the Bund.
"""

import pytest
from playwright.sync_api import expect

from accounts.models import Membership
from messaging.models import Conversation
from routing.models import Transfer
from tests.browser.console_support import console_sign_in, mirror_in_sandbox
from tests.browser.test_console import asgi_live_server  # noqa: F401 - fixture
from tests.factories import (
    make_account,
    make_brand,
    make_conversation,
    make_member,
    make_team,
)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

NOTE = "Airport pick-up at 18:00, flight MU5101"
# What arrives over the other screen's socket (the push, then the stream check behind it)
# may take longer than an action on a loaded 2-core machine; a lost one still fails.
LIVE_MS = 15_000


def _row(page, conversation):  # noqa: ANN001, ANN202
    return page.locator(f"[data-testid=conversation-item][data-id='{conversation.pk}']")


def test_a_relay_transfer_reaches_the_concierge_live_who_accepts_and_replies(
    asgi_live_server, page, browser, artifacts, portal_sandbox, kit  # noqa: F811
):
    server = asgi_live_server.url
    brand = make_brand(name="Lumen Hotels Group")
    flagship = make_account(brand=brand, name="Lumen Hotels", message_mode="safe")
    bund = make_account(brand=brand, name="Lumen Shanghai Bund")
    concierge = make_team(brand=brand, name="Concierge", accounts=[bund])
    rival = make_brand(name="Rival Group")
    make_account(brand=rival, name="Rival Flagship")
    mirror_in_sandbox(portal_sandbox, flagship, server)
    lily = make_member(brand=brand, accounts=[flagship])
    chen = make_member(brand=brand, accounts=[bund])
    chen.teams.add(concierge)
    Membership.objects.filter(pk=lily.pk).update(display_name="Lily")
    Membership.objects.filter(pk=chen.pk).update(display_name="Chen", capacity=4)
    openid = kit.follow(flagship.appid)["openid"]
    push = kit.say(flagship.appid, openid, "Can someone pick me up at the airport?",
                   push=True)["push"]
    assert push["status"] == 200, push
    conversation = Conversation.objects.get(follower__openid=openid)

    console_sign_in(page, server, lily)
    chen_context = browser.new_context(viewport={"width": 1280, "height": 860},
                                       locale="en-US")
    chen_page = chen_context.new_page()
    chen_page.set_default_timeout(15_000)
    console_sign_in(chen_page, server, chen)
    chen_page.get_by_test_id("box-all").click()
    expect(_row(chen_page, conversation)).to_have_count(0)  # not the Bund's: not his
    expect(chen_page.get_by_test_id("transfer-banner")).to_have_count(0)

    # Lily hands it to the Bund's concierge team, by relay, with a note.
    page.get_by_test_id("box-all").click()
    _row(page, conversation).click()
    page.get_by_test_id("transfer").click()
    dialog = page.get_by_test_id("transfer-dialog")
    expect(dialog).to_be_visible()
    expect(dialog).not_to_contain_text("Rival")
    page.get_by_test_id("transfer-account").select_option(str(bund.pk))
    expect(page.get_by_test_id("transfer-path-relay")).to_be_checked()
    page.get_by_test_id("transfer-team").select_option(str(concierge.pk))
    # Chen is offered with his presence and load; he may hold it at the Bund.
    expect(page.get_by_test_id("transfer-agent")).to_contain_text("Chen · online · 0/4")
    # No note, no transfer.
    page.get_by_test_id("transfer-confirm").click()
    expect(page.get_by_test_id("toast")).to_contain_text("Write a note for the receiver")
    expect(dialog).to_be_visible()
    page.get_by_test_id("transfer-note").fill(NOTE)
    page.screenshot(path=str(artifacts / "transfer-two-agents-dialog.png"))
    page.get_by_test_id("transfer-confirm").click()

    # Lily: it leaves her list, and her screen waits for the answer.
    expect(dialog).to_be_hidden()
    expect(_row(page, conversation)).to_have_count(0)
    sent = page.get_by_test_id("transfer-sent")
    sent_text = page.get_by_test_id("transfer-sent-text")
    expect(sent).to_have_attribute("data-status", "pending")
    expect(sent_text).to_have_text(
        "Handed to Concierge · Lumen Shanghai Bund: waiting for an answer.")

    # Chen: the banner appears live, with who and the note; the conversation is his to see.
    banner = chen_page.get_by_test_id("transfer-banner")
    expect(banner).to_have_count(1, timeout=LIVE_MS)
    expect(chen_page.get_by_test_id("transfer-banner-text")).to_have_text(
        f"Transferred to you by Lily: {NOTE}")
    expect(_row(chen_page, conversation)).to_have_count(1)
    chen_page.screenshot(path=str(artifacts / "transfer-two-agents-banner.png"))
    chen_page.get_by_test_id("transfer-accept").click()

    # Chen: the banner goes, the conversation opens with the whole history and the note.
    expect(banner).to_have_count(0)
    expect(chen_page.locator("#c-subtitle")).to_contain_text("Chen")
    thread = chen_page.get_by_test_id("thread")
    expect(thread).to_contain_text("Can someone pick me up at the airport?")
    expect(thread).to_contain_text(NOTE)
    # Lily: told live.
    expect(sent).to_have_attribute("data-status", "accepted", timeout=LIVE_MS)
    expect(sent_text).to_have_text("Chen accepted your transfer.")
    page.screenshot(path=str(artifacts / "transfer-two-agents-sender.png"))

    transfer = Transfer.objects.get(conversation=conversation)
    assert (transfer.status, transfer.path, transfer.decided_by_id) == (
        "accepted", "relay", chen.pk)
    conversation.refresh_from_db()
    assert (conversation.handling_account_id, conversation.team_id,
            conversation.assignee_id) == (bund.pk, concierge.pk, chen.pk)

    # Chen replies, signed as the Bund; it goes out through the flagship's channel.
    chen_page.get_by_test_id("sign-toggle").check()
    expect(chen_page.get_by_test_id("sign-preview")).to_have_text("— Chen · Lumen Shanghai Bund")
    chen_page.get_by_test_id("reply-text").fill("I have booked your car for 18:00.")
    chen_page.get_by_test_id("send").click()
    expect(chen_page.locator("[data-testid=message-out][data-status=sent]")).to_have_count(1)
    chen_page.screenshot(path=str(artifacts / "transfer-two-agents-reply.png"))
    inbox = kit.inbox(flagship.appid, openid)
    assert [m["text"]["content"] for m in inbox if m["msgtype"] == "text"] == [
        "I have booked your car for 18:00.\n— Chen · Lumen Shanghai Bund"], inbox
    chen_context.close()


def test_hand_to_a_speaker_is_one_choice(asgi_live_server, page, artifacts):  # noqa: F811
    server = asgi_live_server.url
    brand = make_brand(name="Lumen Hotels Group")
    flagship = make_account(brand=brand, name="Lumen Hotels")
    desk = make_team(brand=brand, name="Front desk", accounts=[flagship])
    lily = make_member(brand=brand, accounts=[flagship])
    wing = make_member(brand=brand, accounts=[flagship])
    for member, name, languages in ((lily, "Lily", ["en"]), (wing, "Wing", ["zh-hant"])):
        member.teams.add(desk)
        Membership.objects.filter(pk=member.pk).update(display_name=name, languages=languages,
                                                       presence="online")
    conversation = make_conversation(account=flagship, team=desk, assignee=lily)

    console_sign_in(page, server, lily)
    page.get_by_test_id("box-mine").click()
    _row(page, conversation).click()
    expect(page.locator("#c-subtitle")).to_contain_text("Lily")
    speaker = page.get_by_test_id("hand-to-speaker")
    expect(speaker).to_contain_text("A Traditional Chinese speaker")
    # Nobody online speaks Simplified Chinese: said, and nothing moves.
    speaker.select_option("zh-hans")
    expect(page.get_by_test_id("toast")).to_have_text(
        "Nobody who speaks Simplified Chinese is online with room, in the local team or a "
        "central team.")
    speaker.select_option("zh-hant")
    expect(page.get_by_test_id("toast")).to_have_text(
        "Handed to a Traditional Chinese speaker.")
    expect(_row(page, conversation)).to_have_count(0)  # Mine no more: Wing's
    transfer = Transfer.objects.get(conversation=conversation)
    assert (transfer.kind, transfer.to_agent_id, transfer.note) == (
        "agent", wing.pk, "Needs a Traditional Chinese speaker.")
    page.screenshot(path=str(artifacts / "transfer-hand-to-speaker.png"))
