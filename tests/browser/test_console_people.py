"""People and previews in the console, in real headless Chromium, in English and Chinese.

Each row is headed by the person: the customer's name, else the follower's remark, else
"Customer #id", never the openid (which the profile still shows, small, with a copy
button), and the profile gives the language in words. Every row shows its last message
and its time from the first load, and a page reload keeps them; a picture or a voice
message is named in the page's language, live ones too. A blank reply cannot be sent, and
the prepared-response search finds "Wi-Fi" for "wifi".
"""

import threading
from datetime import timedelta

import pytest
from django.db import connection, transaction
from django.utils import timezone
from playwright.sync_api import expect

from followers.models import Customer
from messaging.events import announce_message
from messaging.models import Conversation, Message, PreparedResponse
from tests.browser.console_support import console_sign_in
from tests.browser.test_console import asgi_live_server  # noqa: F401 - fixture
from tests.browser.test_console_images import png
from tests.factories import make_account, make_brand, make_conversation, make_follower, make_member

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _message(conversation: Conversation, *, minutes_ago: int, **fields: object) -> Message:
    message = Message.objects.create(
        brand_id=conversation.brand_id, conversation=conversation,
        account_id=conversation.channel_account_id, **{"direction": "in", **fields},
    )
    Message.objects.filter(pk=message.pk).update(
        created_at=timezone.now() - timedelta(minutes=minutes_ago))
    return message


def _location_arrives(conversation: Conversation) -> None:
    try:
        with transaction.atomic():
            announce_message(_message(conversation, minutes_ago=0, msg_type="location"))
    finally:
        connection.close()


def _row(page, conversation: Conversation):  # noqa: ANN001, ANN202
    return page.locator(f"[data-testid=conversation-item][data-id='{conversation.pk}']")


def _world() -> dict:
    brand = make_brand(name="Lumen Hotels Group")
    bund = make_account(brand=brand, name="Lumen Shanghai Bund")
    rival = make_brand(name="Rival Group")
    make_conversation(follower=make_follower(account=make_account(brand=rival),
                                             remark="Rival guest"))
    mei = Customer.objects.create(brand=brand, name="Mei Lin")
    named = make_conversation(follower=make_follower(
        account=bund, openid="o_mei_lin_0001", customer=mei, remark="Room 1208",
        language="zh_CN"))
    remarked = make_conversation(follower=make_follower(
        account=bund, openid="o_room_0002", remark="Room 1208", language="zh_TW"))
    numbered = make_conversation(follower=make_follower(
        account=bund, openid="o_nobody_0003", language="en"))
    _message(named, minutes_ago=30, content="Hello")
    _message(named, minutes_ago=6, content="Is breakfast included?")
    _message(named, minutes_ago=1, direction="note", content="VIP: never shown in the list")
    _message(remarked, minutes_ago=5, msg_type="image")
    _message(numbered, minutes_ago=4, msg_type="voice", content="recognised words")
    agent = make_member(brand=brand, accounts=[bund])
    return {"brand": brand, "bund": bund, "named": named, "remarked": remarked,
            "numbered": numbered, "agent": agent}


def test_names_languages_and_previews_in_english_and_chinese(
    asgi_live_server, page, artifacts  # noqa: F811
):
    w = _world()
    number = w["numbered"].customer_id
    console_sign_in(page, asgi_live_server.url, w["agent"])
    page.get_by_test_id("box-all").click()
    named, remarked, numbered = _row(page, w["named"]), _row(page, w["remarked"]), _row(
        page, w["numbered"])

    # From the first load: the headline and the last message with its time, notes aside.
    expect(named.locator(".c-name")).to_have_text("Mei Lin")
    expect(remarked.locator(".c-name")).to_have_text("Room 1208")
    expect(numbered.locator(".c-name")).to_have_text(f"Customer #{number}")
    expect(named.get_by_test_id("conversation-preview")).to_contain_text(
        "Is breakfast included?")
    expect(named.locator(".c-snip-time")).not_to_be_empty()
    expect(remarked.get_by_test_id("conversation-preview")).to_contain_text("[image]")
    expect(numbered.get_by_test_id("conversation-preview")).to_contain_text("[voice]")
    listing = page.get_by_test_id("conversation-list").inner_text()
    assert "o_" not in listing and "VIP" not in listing and "Rival" not in listing, listing

    # Still there after a reload: the list API carries them, not the events of this page.
    page.reload()
    page.wait_for_selector("[data-testid=console][data-connection=online]")
    page.get_by_test_id("box-all").click()
    expect(remarked.get_by_test_id("conversation-preview")).to_contain_text("[image]")
    expect(named.get_by_test_id("conversation-preview")).to_contain_text(
        "Is breakfast included?")

    # The thread and the profile name the person; the openid is there, small, copyable.
    named.click()
    expect(page.locator("#c-title")).to_have_text("Mei Lin")
    profile = page.get_by_test_id("profile")
    expect(page.get_by_test_id("customer-name")).to_have_text("Mei Lin")
    expect(profile.locator("dd")).to_contain_text(["Chinese (Simplified)"])
    expect(page.get_by_test_id("openid")).to_have_text("o_mei_lin_0001")
    expect(page.get_by_test_id("copy-openid")).to_be_visible()
    expect(page.get_by_test_id("message-from").first).to_have_text("Mei Lin")
    page.screenshot(path=str(artifacts / "console_people_en.png"))

    remarked.click()
    expect(page.locator("#c-title")).to_have_text("Room 1208")
    expect(profile.locator("dd")).to_contain_text(["Chinese (Traditional)"])
    numbered.click()
    expect(page.locator("#c-title")).to_have_text(f"Customer #{number}")
    expect(profile.locator("dd")).to_contain_text(["English"])

    # In Chinese: the customer number, the types and the language in the page's language.
    page.select_option("[data-testid=language-select]", "zh-hans")
    page.wait_for_selector("html[lang=zh-hans] [data-testid=console][data-connection=online]")
    page.get_by_test_id("box-all").click()
    expect(numbered.locator(".c-name")).to_have_text(f"客户 #{number}")
    expect(named.locator(".c-name")).to_have_text("Mei Lin")
    expect(remarked.get_by_test_id("conversation-preview")).to_contain_text("[图片]")
    expect(numbered.get_by_test_id("conversation-preview")).to_contain_text("[语音]")
    named.click()
    expect(profile.locator("dd")).to_contain_text(["中文（简体）"])

    # A live message that is not a text is named in the page's language as well. Stored
    # and announced off this thread: Playwright's event loop runs here, and the push
    # (eager in the tests) calls into the channel layer synchronously.
    thread = threading.Thread(target=_location_arrives, args=(w["numbered"],))
    thread.start()
    thread.join(timeout=20)
    expect(numbered.get_by_test_id("conversation-preview")).to_contain_text("[位置]",
                                                                         timeout=20_000)
    page.screenshot(path=str(artifacts / "console_people_zh.png"))


def test_a_blank_reply_stays_unsent_and_wifi_finds_the_wi_fi_response(
    asgi_live_server, page, artifacts  # noqa: F811
):
    w = _world()
    PreparedResponse.objects.create(brand=w["brand"], key="network", title="Internet",
                                    language="en", body="The Wi-Fi password is on your key card.")
    PreparedResponse.objects.create(brand=w["brand"], key="network", title="上网",
                                    language="zh-hans", body="Wi-Fi 密码印在房卡上。")
    PreparedResponse.objects.create(brand=w["brand"], key="parking", title="Parking",
                                    language="en", body="Parking is free for guests.")
    console_sign_in(page, asgi_live_server.url, w["agent"])
    page.get_by_test_id("box-all").click()
    _row(page, w["named"]).click()
    expect(page.locator("#c-title")).to_have_text("Mei Lin")

    send, text = page.get_by_test_id("send"), page.get_by_test_id("reply-text")
    expect(send).to_be_disabled()
    text.fill("   \n\t  ")
    expect(send).to_be_disabled()
    page.keyboard.press("Control+Enter")  # the shortcut is refused as well
    text.fill("We will check.")
    expect(send).to_be_enabled()
    text.fill("  ")
    expect(send).to_be_disabled()
    # An image alone may go; removed again, there is nothing to send.
    page.set_input_files("[data-testid=image-input]", files=[
        {"name": "map.png", "mimeType": "image/png", "buffer": png(8, 8, (0, 90, 200))}])
    expect(send).to_be_enabled()
    page.get_by_test_id("attachment-remove").click()
    expect(send).to_be_disabled()
    # So is a blank note.
    page.get_by_test_id("note-toggle").check()
    expect(send).to_be_disabled()
    page.get_by_test_id("note-toggle").uncheck()
    page.screenshot(path=str(artifacts / "console_blank_reply.png"))
    assert not Message.objects.filter(conversation=w["named"], direction="out").exists()

    search = page.get_by_test_id("prepared-search")
    search.fill("wifi")
    items = page.get_by_test_id("prepared-item")
    expect(items).to_have_count(1)
    expect(items.first).to_contain_text("The Wi-Fi password is on your key card.")
    page.screenshot(path=str(artifacts / "console_prepared_wifi.png"))
    search.fill("WIFI密码")
    expect(items).to_have_count(1)
    expect(items.first).to_contain_text("Internet (network)")
    # Picking it fills nothing in, but the reply is no longer blank.
    items.first.click()
    expect(send).to_be_enabled()
