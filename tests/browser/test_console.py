"""The agents' console in real headless Chromium, end to end through the WeChat sandbox.

An agent signs in and opens /console/; the sandbox's follower writes, the sandbox pushes
the signed, encrypted callback to the portal, and the message shows up live over the
websocket; the agent replies with a prepared response and sees it delivered, and the
sandbox follower's inbox has it.
"""

import json
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta

import pytest
import uvicorn
from django.contrib.staticfiles.handlers import ASGIStaticFilesHandler
from django.utils import timezone

from accounts.models import Membership
from messaging.models import Conversation, Message
from messaging.prepared import prepared_create
from tests.browser.console_support import console_sign_in, mirror_in_sandbox
from tests.factories import (
    make_account,
    make_brand,
    make_conversation,
    make_follower,
    make_member,
    owner_scope,
)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@dataclass
class AsgiServer:
    url: str


@pytest.fixture
def asgi_live_server(transactional_db: None) -> Iterator[AsgiServer]:
    """The product's ASGI application (`config.asgi.application`: HTTP and websockets) under
    uvicorn, in a thread of the test process.

    pytest-django's `live_server` is a WSGI server, so it cannot carry `/ws/console/`; and
    the page, its REST calls and its websocket must share one origin (the session cookie,
    CSRF, the Origin check), so one ASGI server serves all of it, as the one-process demo
    does. Running in this process means it uses the test database pytest-django set up
    (the tests are transactional, so its threads see the committed rows), the same Redis
    channel layer, and Celery's eager mode. Static files are served the way `live_server`
    serves them. The sandbox pushes its callbacks to this server too.
    """
    from config.asgi import application

    opened_after = _database_clock()
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    config = uvicorn.Config(
        ASGIStaticFilesHandler(application), lifespan="off", log_level="warning",
        ws="websockets-sansio", ws_ping_interval=None,
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline:
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.02)
    yield AsgiServer(url=f"http://127.0.0.1:{port}")
    server.should_exit = True
    thread.join(timeout=10)
    sock.close()
    _close_server_connections(opened_after)


def _database_clock() -> object:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT clock_timestamp()")
        return cursor.fetchone()[0]


def _close_server_connections(opened_after: object) -> None:
    """The server's worker threads (Django's sync views, consumers' database calls, eager
    tasks) keep their own database connections, which this thread cannot close; end them
    so pytest-django can drop the test database. Only those opened while the server ran:
    the test's own connections (Playwright's event loop can make Django see this thread
    under more than one context) stay usable for the tests that follow."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
            " WHERE datname = current_database() AND pid <> pg_backend_pid()"
            " AND backend_start >= %s",
            [opened_after],
        )


def test_an_agent_sees_a_message_live_and_replies_with_a_prepared_response(
    asgi_live_server, page, artifacts, portal_sandbox, kit
):
    server = asgi_live_server.url
    brand = make_brand(name="Lumen Hotels Group")
    bund = make_account(brand=brand, name="Lumen Shanghai Bund", message_mode="safe")
    rival_brand = make_brand(name="Rival Group")
    make_account(brand=rival_brand, name="Rival Flagship")
    mirror_in_sandbox(portal_sandbox, bund, server)
    prepared_create(
        scope=owner_scope(brand), key="breakfast", title="Breakfast hours", language="en",
        body="Breakfast is served from 6:30 to 10:30 at {account_name}.",
    )
    agent = make_member(brand=brand, accounts=[bund])
    Membership.objects.filter(pk=agent.pk).update(display_name="Lily")
    openid = kit.follow(bund.appid)["openid"]
    # Every console socket passes through Playwright, so the test can cut the line, and
    # sees what the server sends on it.
    sockets, blocked, frames = [], threading.Event(), []

    def through(ws):  # noqa: ANN001
        if blocked.is_set():
            ws.close()  # the server is unreachable: the client must keep retrying
            return
        upstream = ws.connect_to_server()

        def relay(message: str | bytes) -> None:
            frames.append(json.loads(message))
            ws.send(message)

        upstream.on_message(relay)
        sockets.append((ws, upstream))

    page.route_web_socket("**/ws/console/", through)

    console_sign_in(page, server, agent)
    page.get_by_test_id("box-all").click()

    # The follower writes; the sandbox pushes the callback; the screen shows it, no reload:
    # the socket carried the message, and the page is the one that was open.
    page.evaluate("window.beforeThePush = true")
    push = kit.say(bund.appid, openid, "Is breakfast included?", push=True)["push"]
    assert push["status"] == 200, push
    item = page.get_by_test_id("conversation-item").first
    item.wait_for(timeout=20_000)
    conversation = Conversation.objects.get(follower__openid=openid)
    assert item.get_attribute("data-id") == str(conversation.pk)
    assert "Is breakfast included?" in item.inner_text()
    assert page.evaluate("window.beforeThePush === true")
    live = [f for f in frames
            if f.get("type") == "message" and f.get("conversation_id") == conversation.pk]
    assert live and live[0]["snippet"] == "Is breakfast included?", frames
    assert "Rival" not in page.get_by_test_id("conversation-list").inner_text()

    page.keyboard.press("j")  # open it
    inbound = page.get_by_test_id("message-in").first
    inbound.wait_for()
    assert "Is breakfast included?" in inbound.inner_text()
    assert "Lumen Shanghai Bund" in inbound.get_by_test_id("message-account").inner_text()
    window = page.get_by_test_id("window").inner_text()
    assert "5" in window, window  # five messages left in the 48-hour window
    page.get_by_test_id("assign-me").click()
    page.wait_for_function(
        "document.getElementById('c-subtitle').textContent.includes('Lily')"
    )
    assert page.get_by_test_id("sign-preview").inner_text() == "— Lily · Lumen Shanghai Bund"

    page.get_by_test_id("prepared-search").fill("breakfast")
    page.get_by_test_id("prepared-item").first.click()
    assert "Breakfast hours" in page.get_by_test_id("chosen-prepared").inner_text()
    page.keyboard.press("Control+Enter")

    sent = page.locator("[data-testid=message-out][data-status=sent]").first
    sent.wait_for(timeout=20_000)
    text = "Breakfast is served from 6:30 to 10:30 at Lumen Shanghai Bund."
    assert text in sent.inner_text()
    assert "Lily · Lumen Shanghai Bund" in sent.inner_text()
    reply = Message.objects.get(conversation=conversation, direction="out")
    assert reply.status == "sent" and reply.content == text
    inbox = kit.inbox(bund.appid, openid)
    assert any(text in str(entry) for entry in inbox), inbox

    # A private note: kept, shown differently, never sent.
    page.get_by_test_id("note-toggle").check()
    page.get_by_test_id("reply-text").fill("Guest prefers a window table.")
    page.keyboard.press("Control+Enter")
    note = page.get_by_test_id("message-note").first
    note.wait_for()
    assert "Guest prefers a window table." in note.inner_text()
    page.get_by_test_id("note-toggle").uncheck()
    assert "window table" not in str(kit.inbox(bund.appid, openid))
    page.screenshot(path=str(artifacts / "console.png"))

    # The line drops; while it is down, the follower writes again. The client reconnects
    # by itself and catches up from the REST API (the live event went nowhere).
    blocked.set()
    for ws, upstream in sockets:
        upstream.close()
        ws.close()
    page.wait_for_selector("[data-testid=console][data-connection=offline]")
    kit.say(bund.appid, openid, "Also, is there a gym?", push=True)
    assert Message.objects.filter(content="Also, is there a gym?").exists()
    blocked.clear()
    page.wait_for_selector("[data-testid=console][data-connection=online]", timeout=20_000)
    page.locator("[data-testid=message-in]", has_text="is there a gym").wait_for()

    # And in Chinese.
    page.select_option("[data-testid=language-select]", "zh-hans")
    page.wait_for_selector("html[lang=zh-hans] [data-testid=console][data-connection=online]")
    assert page.get_by_test_id("box-mine").inner_text().startswith("我的")
    assert "领取下一个" in page.get_by_test_id("claim-next").inner_text()


def test_a_closed_window_disables_send_with_the_reason_and_keys_work(asgi_live_server, page):
    server = asgi_live_server.url
    brand = make_brand(name="Lumen Hotels Group")
    bund = make_account(brand=brand, name="Lumen Shanghai Bund")
    other = make_brand(name="Rival Group")
    make_conversation(account=make_account(brand=other, name="Rival Flagship"))
    three_days_ago = timezone.now() - timedelta(days=3)
    stale = make_conversation(follower=make_follower(account=bund, window_at=three_days_ago))
    agent = make_member(brand=brand, accounts=[bund])

    console_sign_in(page, server, agent)
    page.get_by_test_id("box-all").click()
    page.get_by_test_id("conversation-item").first.wait_for()
    assert page.get_by_test_id("conversation-item").count() == 1

    page.keyboard.press("j")
    page.wait_for_function("document.getElementById('c-window').textContent.includes('48')")
    assert page.get_by_test_id("send").is_disabled()
    assert "48-hour" in page.get_by_test_id("send-refusal").inner_text()
    assert "48-hour" in page.get_by_test_id("window").inner_text()
    # A private note is still allowed (once it has a text: a blank one is not).
    page.get_by_test_id("note-toggle").check()
    page.get_by_test_id("reply-text").fill("Called the guest back.")
    assert page.get_by_test_id("send").is_enabled()

    page.keyboard.press("Escape")
    page.keyboard.press("?")
    assert page.locator("#c-help").is_visible()
    page.keyboard.press("Escape")
    page.keyboard.press("e")  # resolve
    page.wait_for_function(
        "document.getElementById('c-subtitle').textContent.includes('Resolved')"
    )
    stale.refresh_from_db()
    assert stale.status == "resolved"
