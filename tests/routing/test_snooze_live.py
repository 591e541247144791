"""A snoozed conversation's screens learn live that it went to the snoozed box and that it
came back: the snooze and the beat's wake-up (`conversations_wake_task`) each send the
console's `conversation` event to the screens that see it, and to no one else."""

from datetime import timedelta

import pytest
from asgiref.sync import sync_to_async
from django.utils import timezone

from accounts.scope import scope_for_membership
from messaging import services
from messaging.models import Conversation
from messaging.tasks import conversations_wake_task
from tests.routing.socket_support import close_thread_connections  # noqa: F401
from tests.routing.test_realtime import _close, _inbound_text, _open, _settled, _world

pytestmark = [pytest.mark.django_db(transaction=True),
              pytest.mark.usefixtures("close_thread_connections")]


async def test_the_snooze_and_the_wake_up_reach_the_screens_live():
    w = await sync_to_async(_world)()
    await sync_to_async(_inbound_text)(w["bund"], "o_snoozer", "Call me tomorrow")
    conversation = await Conversation.objects.aget(follower__openid="o_snoozer")
    screen, other = await _open(w["bund_agent"]), await _open(w["taikoo_agent"])
    await _settled(screen, w["bund_agent"])  # the message and its opening, already sent

    scope = await sync_to_async(scope_for_membership)(w["bund_agent"])
    until = timezone.now() + timedelta(minutes=5)
    await sync_to_async(services.conversation_snooze)(
        scope=scope, conversation=conversation, until=until)
    (snoozed,) = await _settled(screen, w["bund_agent"])
    assert (snoozed["type"], snoozed["reason"], snoozed["status"]) == (
        "conversation", "snoozed", "snoozed")

    # The beat's task, once the time has come.
    await Conversation.objects.filter(pk=conversation.pk).aupdate(
        snoozed_until=timezone.now() - timedelta(seconds=1))
    woken = await sync_to_async(conversations_wake_task.apply)()
    assert woken.result == 1
    (back,) = await _settled(screen, w["bund_agent"])
    assert (back["type"], back["conversation_id"], back["status"]) == (
        "conversation", conversation.pk, "open")
    assert await _settled(other, w["taikoo_agent"]) == []
    await _close(screen)
    await _close(other)
