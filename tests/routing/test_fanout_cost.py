"""What an event costs on the channel layer, and who it reaches.

In the brand fan-out an event is one group send to the brand's group, whatever the size
of its audience; the audience (the visibility rule's membership ids) rides along, and each
socket relays only what names its member. A member of another brand is not in the group
at all. The per-agent fan-out (`CONSOLE_FANOUT=agent`, the benchmark's baseline) costs one
send per member and reaches the same screens.
"""

from collections import Counter

import pytest
from asgiref.sync import sync_to_async
from channels.layers import get_channel_layer

from messaging.models import Conversation
from routing import realtime
from routing.events import brand_group
from routing.layers import ConsoleRedisChannelLayer, _ConsolePubSubLoopLayer, stream_send
from routing.realtime import audience
from tests.factories import make_member
from tests.routing.socket_support import close_thread_connections  # noqa: F401
from tests.routing.test_realtime import _close, _inbound_text, _open, _settled, _world

pytestmark = [pytest.mark.django_db(transaction=True)]


@pytest.fixture
def group_sends(monkeypatch) -> Counter:  # noqa: ANN001
    """Group sends made through the console's layer, by group."""
    sends: Counter = Counter()
    for sender in (ConsoleRedisChannelLayer, _ConsolePubSubLoopLayer):
        monkeypatch.setattr(sender, "group_send", _counted(sender.group_send, sends))
    return sends


def _counted(send, sends: Counter):  # noqa: ANN001, ANN202
    async def counted(self, group: str, message: dict) -> None:  # noqa: ANN001
        sends[group] += 1
        await send(self, group, message)

    return counted


def _write(w: dict, openid: str, monkeypatch) -> tuple[int, int]:  # noqa: ANN001
    """A follower's first message to the Bund (it opens a conversation). Answers (events
    pushed, members who may see it)."""
    pushed, parts = [], realtime._parts

    def counted(name: str, payload: dict, reads: object) -> list:
        pushed.append(name)
        return parts(name, payload, reads)

    monkeypatch.setattr(realtime, "_parts", counted)
    _inbound_text(w["bund"], openid, "hello")
    monkeypatch.setattr(realtime, "_parts", parts)
    conversation = Conversation.objects.get(follower__openid=openid)
    assert pushed, "nothing was pushed"
    return len(pushed), len(audience(conversation=conversation))


def test_an_event_costs_one_group_send_however_many_may_see_it(group_sends, monkeypatch):  # noqa: ANN001
    w = _world()
    events, few = _write(w, "o_cost_1", monkeypatch)
    assert sum(group_sends.values()) == events
    group_sends.clear()
    for _ in range(30):
        make_member(brand=w["bund"].brand, role="admin")
    events, many = _write(w, "o_cost_2", monkeypatch)

    assert many == few + 30
    assert sum(group_sends.values()) == events
    assert set(group_sends) == {brand_group(w["bund"].brand_id)}


def test_the_per_agent_fanout_costs_a_send_per_member(settings, group_sends, monkeypatch):  # noqa: ANN001
    settings.CONSOLE_FANOUT = "agent"
    w = _world()
    events, members = _write(w, "o_cost_3", monkeypatch)
    assert sum(group_sends.values()) == events * members
    assert brand_group(w["bund"].brand_id) not in group_sends


@pytest.mark.usefixtures("close_thread_connections")
@pytest.mark.parametrize("fanout", ["brand", "agent"])
async def test_both_fanouts_reach_exactly_the_screens_that_may_see_it(settings, fanout):  # noqa: ANN001
    settings.CONSOLE_FANOUT = fanout
    w = await sync_to_async(_world)()
    names = ("bund_agent", "admin", "taikoo_agent", "rival_admin")
    screens = {name: await _open(w[name]) for name in names}
    await sync_to_async(_inbound_text)(w["bund"], "o_cost_4", "who sees this?")
    for name in ("bund_agent", "admin"):
        events = await _settled(screens[name], w[name])
        assert sorted(e["type"] for e in events) == ["conversation", "message"], name
    for name in ("taikoo_agent", "rival_admin"):
        assert await _settled(screens[name], w[name]) == [], name
    for screen in screens.values():
        await _close(screen)


@pytest.mark.usefixtures("close_thread_connections")
async def test_a_socket_relays_only_what_names_its_member_and_never_another_brands():
    w = await sync_to_async(_world)()
    names = ("bund_agent", "taikoo_agent", "admin", "rival_admin")
    screens = {name: await _open(w[name]) for name in names}
    first = {"type": "message", "message_id": 1}
    second = {"type": "message", "message_id": 2}
    # Even a list naming another brand's member reaches no one outside the brand's group.
    await stream_send(get_channel_layer(), brand_group(w["bund"].brand_id), [
        {"to": [w["bund_agent"].pk], "payload": first},
        {"to": [w["taikoo_agent"].pk, w["rival_admin"].pk], "payload": second},
    ])
    assert await _settled(screens["bund_agent"], w["bund_agent"]) == [first]
    assert await _settled(screens["taikoo_agent"], w["taikoo_agent"]) == [second]
    assert await _settled(screens["admin"], w["admin"]) == []
    assert await _settled(screens["rival_admin"], w["rival_admin"]) == []
    for screen in screens.values():
        await _close(screen)
