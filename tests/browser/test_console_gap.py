"""An event lost on the way still reaches the screen: the console notices the hole in its
brand's stream and reloads from the REST API.

The admin's console is open on "All". A conversation is stored without its event (as if
the push had been lost) and nothing shows it: the console does not poll. Then a number of
the brand's stream is taken and never sent, as a layer that dropped a message leaves it.
The server's hub finds the hole at its next check, the screen gets a ``gap`` and reloads,
and the conversation appears.
"""

import threading

import pytest
from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.db import connection
from playwright.sync_api import expect

from routing.events import brand_group
from routing.hub import BrandHub
from tests.browser.console_support import console_sign_in
from tests.browser.test_console import asgi_live_server  # noqa: F401 - fixture
from tests.factories import make_account, make_brand, make_conversation, make_member

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _take_a_number(brand_id: int) -> None:
    """A number of the brand's stream taken and never sent, in a thread of its own:
    async_to_sync refuses to run in Playwright's event-loop thread."""
    failed: list[BaseException] = []

    async def take() -> None:
        await get_channel_layer().stream_next(brand_group(brand_id))

    def run() -> None:
        try:
            async_to_sync(take)()
        except BaseException as exc:  # noqa: BLE001 - raised again below
            failed.append(exc)
        finally:
            connection.close()

    worker = threading.Thread(target=run)
    worker.start()
    worker.join(timeout=10)
    if failed:
        raise failed[0]


def test_a_lost_event_is_found_by_the_stream_check_and_the_screen_reloads(
    asgi_live_server, page, artifacts  # noqa: F811
):
    server = asgi_live_server.url
    brand = make_brand(name="Lumen Hotels Group")
    bund = make_account(brand=brand, name="Lumen Shanghai Bund")
    admin = make_member(brand=brand, role="admin")
    first = make_conversation(account=bund)

    console_sign_in(page, server, admin)
    page.get_by_test_id("box-all").click()
    # The rows of All, not those of the box the console opened on (Unassigned: nothing is
    # the admin's): their query ran before the next conversation is stored.
    expect(page.get_by_test_id("conversation-list")).to_have_attribute("data-box", "all")
    items = page.get_by_test_id("conversation-item")
    expect(items).to_have_count(1)

    # Stored, its event lost: the screen cannot know, however long it waits.
    silent = make_conversation(account=bund)
    page.wait_for_timeout((BrandHub.CHECK_SECONDS + BrandHub.GRACE_SECONDS) * 1000 + 1000)
    expect(items).to_have_count(1)

    # The lost push had taken its number: now the stream shows a hole.
    _take_a_number(brand.pk)

    bound = (BrandHub.CHECK_SECONDS + BrandHub.GRACE_SECONDS) * 1000 + 3000
    expect(items).to_have_count(2, timeout=bound)
    shown = {items.nth(i).get_attribute("data-id") for i in range(2)}
    assert shown == {str(first.pk), str(silent.pk)}
    expect(page.locator("[data-testid=console]")).to_have_attribute(
        "data-connection", "online")
    page.screenshot(path=str(artifacts / "console-gap-resynced.png"))
