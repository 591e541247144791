"""A reply is stored first, then sent through the channel account to the real sandbox."""

from __future__ import annotations

import base64

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from messaging import services
from messaging.models import Message, PreparedResponse
from tests.messaging.reply_support import Wired, wired  # noqa: F401 - fixture

pytestmark = pytest.mark.django_db

# A 1x1 PNG.
PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJ"
    "RU5ErkJggg=="
)


def test_a_reply_is_queued_then_reaches_the_followers_inbox(
    wired: Wired, django_capture_on_commit_callbacks, announced: list  # noqa: F811
) -> None:
    with django_capture_on_commit_callbacks(execute=False) as pending:
        message = services.message_reply(
            scope=wired.scope, conversation=wired.conversation, text="Yes, from 6:30.",
            by=wired.agent,
        )
    message.refresh_from_db()
    assert message.status == Message.Status.QUEUED
    assert message.direction == Message.Direction.OUTBOUND
    assert message.sender_display == "Lily · A flagship"
    assert wired.texts() == []

    for callback in pending:
        callback()
    message.refresh_from_db()
    assert message.status == Message.Status.SENT and message.sent_at is not None
    assert message.errcode is None and message.error_reason == ""
    assert wired.texts() == ["Yes, from 6:30."]
    assert [name for name, _p in announced] == [
        "message.created", "conversation.updated", "message.status",
    ]
    assert announced[1][1]["change"] == "replied"
    assert announced[-1][1]["status"] == "sent"


def test_the_reply_records_the_first_response_and_stops_the_wait(
    wired: Wired, django_capture_on_commit_callbacks  # noqa: F811
) -> None:
    assert wired.conversation.waiting_since is not None
    with django_capture_on_commit_callbacks(execute=True):
        services.message_reply(scope=wired.scope, conversation=wired.conversation,
                               text="Hello", by=wired.agent)
    wired.conversation.refresh_from_db()
    first = wired.conversation.first_response_at
    assert first is not None and wired.conversation.waiting_since is None
    with django_capture_on_commit_callbacks(execute=True):
        services.message_reply(scope=wired.scope, conversation=wired.conversation,
                               text="Anything else?", by=wired.agent)
    wired.conversation.refresh_from_db()
    assert wired.conversation.first_response_at == first
    wired.follower.refresh_from_db()
    assert wired.follower.window_sends == 2


def test_an_image_is_uploaded_then_sent(
    wired: Wired, django_capture_on_commit_callbacks, settings, tmp_path  # noqa: F811
) -> None:
    settings.MEDIA_ROOT = tmp_path
    image = SimpleUploadedFile("room.png", PNG, content_type="image/png")
    with django_capture_on_commit_callbacks(execute=True):
        message = services.message_reply(scope=wired.scope, conversation=wired.conversation,
                                          image=image, by=wired.agent)
    message.refresh_from_db()
    assert message.status == Message.Status.SENT, message.error_reason
    assert message.msg_type == "image" and message.payload["media_id"]
    [delivered] = wired.inbox()
    assert delivered["msgtype"] == "image"
    assert delivered["image"]["media_id"] == message.payload["media_id"]


def test_a_prepared_response_is_sent_filled_in(
    wired: Wired, django_capture_on_commit_callbacks  # noqa: F811
) -> None:
    PreparedResponse.objects.create(
        brand=wired.account.brand, key="breakfast", title="Breakfast", language="en",
        body="Breakfast at {account_name} is served {hours}. {agent_name}",
    )
    with django_capture_on_commit_callbacks(execute=True):
        message = services.message_reply(
            scope=wired.scope, conversation=wired.conversation, prepared_key="breakfast",
            language="en", by=wired.agent,
        )
    message.refresh_from_db()
    assert message.status == Message.Status.SENT
    assert message.payload == {"prepared_key": "breakfast", "language": "en"}
    assert wired.texts() == ["Breakfast at A flagship is served 09:00–21:00. Lily"]


def test_notes_never_reach_the_follower(
    wired: Wired, django_capture_on_commit_callbacks  # noqa: F811
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        note = services.message_note(scope=wired.scope, conversation=wired.conversation,
                                     text="VIP guest, upgrade if possible", by=wired.agent)
    assert note.direction == Message.Direction.NOTE
    assert wired.inbox() == [] and wired.send_calls() == []
    wired.follower.refresh_from_db()
    assert wired.follower.window_sends == 0
