import pytest
from asgiref.sync import sync_to_async
from channels.layers import get_channel_layer
from channels.testing import WebsocketCommunicator

from config.asgi import application
from routing.events import brand_group
from tests.factories import make_brand, make_member
from tests.routing.socket_support import close_thread_connections, session_cookie  # noqa: F401

pytestmark = [pytest.mark.django_db(transaction=True),
              pytest.mark.usefixtures("close_thread_connections")]


def _communicator(cookie: str | None) -> WebsocketCommunicator:
    headers = [(b"origin", b"http://127.0.0.1"), (b"host", b"127.0.0.1")]
    if cookie:
        headers.append((b"cookie", f"sessionid={cookie}".encode()))
    return WebsocketCommunicator(application, "/ws/console/", headers=headers)


async def test_an_anonymous_socket_is_refused():
    communicator = _communicator(None)
    connected, code = await communicator.connect()
    assert not connected and code == 4401
    await communicator.wait()


async def test_a_member_joins_their_brand_group_and_only_that():
    brand_a = await sync_to_async(make_brand)(name="Socket A")
    brand_b = await sync_to_async(make_brand)(name="Socket B")
    member = await sync_to_async(make_member)(brand=brand_a)
    cookie = await sync_to_async(session_cookie)(member.user)
    communicator = _communicator(cookie)
    connected, _ = await communicator.connect()
    assert connected
    hello = await communicator.receive_json_from()
    assert hello == {"type": "hello", "brand_id": brand_a.pk, "membership_id": member.pk,
                     "role": "agent"}
    # Opening the console brings an offline member online, announced to the brand.
    assert await communicator.receive_json_from() == {
        "type": "presence", "membership_id": member.pk, "presence": "online"}
    layer = get_channel_layer()
    await layer.group_send(brand_group(brand_b.pk),
                           {"type": "console.event", "payload": {"type": "foreign"}})
    await layer.group_send(brand_group(brand_a.pk),
                           {"type": "console.event", "payload": {"type": "ours"}})
    assert await communicator.receive_json_from(timeout=2) == {"type": "ours"}
    assert await communicator.receive_nothing(timeout=0.3)
    await communicator.disconnect()
