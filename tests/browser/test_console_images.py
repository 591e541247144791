"""Images in the console, in real headless Chromium, through the WeChat sandbox.

The follower sends a photo: the portal fetches and stores it, and the agent's thread shows
it as a thumbnail served through the conversation's scope. The agent attaches an image
from the keyboard, removes it, attaches another, sends it with Enter, sees it delivered,
and the sandbox follower's inbox has an image message with the uploaded media.
"""

import struct
import zlib

import pytest
from playwright.sync_api import expect

from accounts.models import Membership
from messaging.models import Conversation, Message
from tests.browser.console_support import console_sign_in, mirror_in_sandbox
from tests.browser.test_console import asgi_live_server  # noqa: F401 - fixture
from tests.factories import make_account, make_brand, make_member

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def png(width: int, height: int, rgb: tuple[int, int, int]) -> bytes:
    """A plain-colour RGB PNG, big enough for the thumbnail to be seen in the screenshot."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (struct.pack(">I", len(data)) + kind + data
                + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF))

    row = b"\x00" + bytes(rgb) * width
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header)
            + chunk(b"IDAT", zlib.compress(row * height)) + chunk(b"IEND", b""))


def _loaded(locator) -> bool:  # noqa: ANN001
    """The <img> really decoded an image (a 404 or a non-image leaves naturalWidth 0)."""
    return locator.evaluate("img => img.complete && img.naturalWidth > 0")


def _chooser_from_key(page, key: str):  # noqa: ANN001, ANN202
    """The file chooser ``key`` opens, from one press.

    Playwright turns on file-chooser interception when the first listener is added
    (`expect_file_chooser` adds one) without waiting for the browser to apply it. A key
    press sent right after can make the page open its chooser before it is intercepted,
    and headless Chromium then drops it (14 presses in 30 on fresh pages, measured); a
    second press only runs the race again. A round trip to the page comes between: the
    browser answers it after it has applied the interception (0 dropped in 100), so the
    press is intercepted whatever the machine's speed. A key that opens no chooser fails.
    """
    with page.expect_file_chooser(timeout=20_000) as chooser:
        page.evaluate("0")
        page.keyboard.press(key)
    return chooser.value


def test_an_agent_sees_a_photo_and_sends_an_image_from_the_keyboard(
    asgi_live_server, page, artifacts, portal_sandbox, kit  # noqa: F811
):
    server = asgi_live_server.url
    brand = make_brand(name="Lumen Hotels Group")
    bund = make_account(brand=brand, name="Lumen Shanghai Bund", message_mode="safe")
    mirror_in_sandbox(portal_sandbox, bund, server)
    agent = make_member(brand=brand, accounts=[bund])
    Membership.objects.filter(pk=agent.pk).update(display_name="Lily")
    openid = kit.follow(bund.appid)["openid"]

    # The follower sends a photo of the broken lamp; the portal stores the file.
    push = kit.say(bund.appid, openid, type="image", push=True)["push"]
    assert push["status"] == 200, push
    conversation = Conversation.objects.get(follower__openid=openid)
    photo = Message.objects.get(conversation=conversation, direction="in")
    assert photo.msg_type == "image" and photo.media

    console_sign_in(page, server, agent)
    page.get_by_test_id("box-all").click()
    page.get_by_test_id("conversation-item").first.wait_for()
    page.keyboard.press("j")
    thumb = page.locator("[data-testid=message-in] img[data-testid=message-image]")
    thumb.wait_for()
    assert thumb.get_attribute("src") == (
        f"/api/v1/conversations/{conversation.pk}/media/{photo.pk}/")
    page.wait_for_function(
        "document.querySelector('[data-testid=message-in] img').naturalWidth > 0")

    # A file that is not an image is refused in the box, with the reason.
    page.set_input_files("[data-testid=image-input]", files=[
        {"name": "notes.txt", "mimeType": "text/plain", "buffer": b"hello"}])
    expect(page.get_by_test_id("toast")).to_contain_text("JPEG, PNG or GIF")
    expect(page.get_by_test_id("attachment")).to_be_hidden()
    page.wait_for_function("document.activeElement.id === 'c-attach'")

    # "i" opens the picker; the chosen file shows by name and can be removed.
    expect(page.get_by_test_id("attach-image")).to_be_enabled()
    chooser = _chooser_from_key(page, "i")
    chooser.set_files(files=[
        {"name": "wrong-room.png", "mimeType": "image/png", "buffer": png(8, 8, (200, 0, 0))}])
    expect(page.get_by_test_id("attachment-name")).to_contain_text("wrong-room.png")
    page.wait_for_function("document.activeElement.id === 'c-send'")
    page.get_by_test_id("attachment-remove").focus()
    page.keyboard.press("Enter")
    expect(page.get_by_test_id("attachment")).to_be_hidden()
    page.wait_for_function("document.activeElement.id === 'c-attach'")

    # The button opens the picker again; Enter on Send sends the image.
    lobby = png(160, 100, (46, 139, 87))
    with page.expect_file_chooser() as chooser:
        page.get_by_test_id("attach-image").click()
    chooser.value.set_files(files=[
        {"name": "lobby.png", "mimeType": "image/png", "buffer": lobby}])
    expect(page.get_by_test_id("attachment-name")).to_contain_text("lobby.png")
    page.wait_for_function("document.activeElement.id === 'c-send'")
    page.keyboard.press("Enter")

    sent = page.locator("[data-testid=message-out][data-status=sent]").first
    sent.wait_for(timeout=20_000)
    expect(sent).to_contain_text("Lily · Lumen Shanghai Bund")
    out_thumb = sent.get_by_test_id("message-image")
    page.wait_for_function(
        "document.querySelector('[data-testid=message-out] img').naturalWidth === 160")
    assert _loaded(out_thumb) and _loaded(thumb)
    expect(page.get_by_test_id("attachment")).to_be_hidden()
    reply = Message.objects.get(conversation=conversation, direction="out")
    assert reply.msg_type == "image" and reply.status == "sent"
    assert reply.media.read() == lobby
    assert out_thumb.get_attribute("src") == (
        f"/api/v1/conversations/{conversation.pk}/media/{reply.pk}/")
    # One image reached the follower, the one uploaded for this reply; nothing else.
    inbox = kit.inbox(bund.appid, openid)
    assert [m["msgtype"] for m in inbox] == ["image"], inbox
    assert inbox[0]["image"]["media_id"] == reply.payload["media_id"]
    page.screenshot(path=str(artifacts / "console-image.png"))

    # A private note cannot carry an image: the button is off while the note is ticked.
    page.get_by_test_id("note-toggle").check()
    expect(page.get_by_test_id("attach-image")).to_be_disabled()
    page.get_by_test_id("note-toggle").uncheck()

    # The new strings are translated.
    page.select_option("[data-testid=language-select]", "zh-hans")
    page.wait_for_selector("html[lang=zh-hans] [data-testid=console][data-connection=online]")
    expect(page.get_by_test_id("attach-image")).to_have_text("添加图片")
