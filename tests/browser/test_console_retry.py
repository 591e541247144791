"""A failed reply shows "Retry" in the console, in real headless Chromium; one WeChat may
have delivered does not. Clicking it sends the same reply again (queued anew, never a
second message); here WeChat is still unreachable, so it comes back queued with the time
of its next attempt, and when its last attempt fails the button is back, live."""

import threading

import pytest
from django.db import connection
from playwright.sync_api import expect

from messaging.models import Message
from messaging.services import MAYBE_DELIVERED, message_deliver
from tests.browser.console_support import console_sign_in
from tests.browser.test_console import asgi_live_server  # noqa: F401 - fixture
from tests.factories import make_account, make_brand, make_conversation, make_member

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

BUSY = "the reply was not sent after 7 attempts: WeChat is busy right now; try again in a moment"


def _failed_reply(conversation, agent, text: str, **fields: object) -> Message:  # noqa: ANN001
    return Message.objects.create(
        brand_id=conversation.brand_id, conversation=conversation,
        account=conversation.channel_account, direction=Message.Direction.OUTBOUND,
        content=text, status=Message.Status.FAILED, sender=agent,
        sender_display="Lily · Lumen Shanghai Bund", **fields,
    )


def _in_a_thread(work):  # noqa: ANN001, ANN202
    """Run ``work`` as a worker would, off this thread (Playwright's event loop runs here,
    and the push to screens cannot)."""
    done = []

    def run() -> None:
        try:
            done.append(work())
        finally:
            connection.close()

    thread = threading.Thread(target=run)
    thread.start()
    thread.join(30)
    return done[0]


def test_a_failed_reply_offers_retry_and_one_that_may_have_arrived_does_not(
    asgi_live_server, page, settings, artifacts  # noqa: F811
) -> None:
    # WeChat cannot be reached: the retried reply's attempt fails and is rescheduled.
    settings.WECHAT_API_BASE = "http://127.0.0.1:9"
    brand = make_brand(name="Lumen Hotels Group")
    bund = make_account(brand=brand, name="Lumen Shanghai Bund")
    other = make_brand(name="Rival Group")
    make_conversation(account=make_account(brand=other, name="Rival Flagship"))
    conversation = make_conversation(account=bund)
    agent = make_member(brand=brand, accounts=[bund])
    maybe = _failed_reply(conversation, agent, "Your room is ready.",
                          error_reason=MAYBE_DELIVERED, maybe_delivered=True)
    busy = _failed_reply(conversation, agent, "Breakfast is at 7.", errcode=-1,
                         error_reason=BUSY, send_attempts=7)

    console_sign_in(page, asgi_live_server.url, agent)
    page.get_by_test_id("box-all").click()
    page.get_by_test_id("conversation-item").first.click()
    thread = page.locator("#c-thread")
    expect(thread.locator(f'[data-id="{busy.pk}"] [data-testid=delivery]')).to_contain_text(
        "WeChat is busy")
    expect(thread.locator(f'[data-id="{busy.pk}"] [data-testid=retry]')).to_be_visible()
    expect(thread.locator(f'[data-id="{maybe.pk}"] [data-testid=delivery]')).to_contain_text(
        "may have delivered it")
    assert thread.locator(f'[data-id="{maybe.pk}"] [data-testid=retry]').count() == 0
    page.screenshot(path=str(artifacts / "console-retry-offered.png"))

    before = Message.objects.count()
    thread.locator(f'[data-id="{busy.pk}"] [data-testid=retry]').click()
    label = thread.locator(f'[data-id="{busy.pk}"] [data-testid=delivery]')
    expect(label).to_contain_text("queued — trying again at")
    assert thread.locator(f'[data-id="{busy.pk}"] [data-testid=retry]').count() == 0
    page.screenshot(path=str(artifacts / "console-retry-queued.png"))
    busy.refresh_from_db()
    assert (busy.status, busy.send_attempts) == (Message.Status.QUEUED, 1)
    assert busy.next_attempt_at is not None and busy.error_reason == ""
    assert Message.objects.count() == before
    maybe.refresh_from_db()
    assert maybe.status == Message.Status.FAILED

    # Its last attempt fails while the screen is open: the socket says so, and the Retry
    # button comes back without a reload by hand.
    Message.objects.filter(pk=busy.pk).update(send_attempts=6, next_attempt_at=None)
    assert _in_a_thread(lambda: message_deliver(message_id=busy.pk)) == "failed"
    expect(label).to_contain_text("not sent after 7 attempts")
    expect(thread.locator(f'[data-id="{busy.pk}"] [data-testid=retry]')).to_be_visible()
