"""A failed reply can be sent again by hand, through the API (and the console's Retry
button, which calls it): the same message goes back to the queue, never a second one, and
one WeChat may have delivered is refused."""

from __future__ import annotations

import pytest
from django.db.models import Count

from accounts.errors import Conflict
from followers.models import Follower
from messaging import services
from messaging.models import Message
from messaging.services import SEND_RETRY_DELAYS
from tests.messaging.ingest_support import HookRecorder
from tests.messaging.reply_support import CUSTOM_SEND, Wired, wired  # noqa: F401 - fixture

pytestmark = pytest.mark.django_db


def _failed(wired: Wired, capture, text: str = "See you at 8.", **fields: object) -> Message:  # noqa: F811
    """A reply whose every attempt met a busy WeChat: failed, and retryable."""
    fault = wired.sandbox.control("POST", "/faults", {"kind": "busy", "path": CUSTOM_SEND,
                                                      "appid": wired.appid})
    with capture(execute=False):
        message = services.message_reply(scope=wired.scope, conversation=wired.conversation,
                                          text=text, by=wired.agent)
    Message.objects.filter(pk=message.pk).update(send_attempts=len(SEND_RETRY_DELAYS))
    with capture(execute=True):
        services.message_deliver(message_id=message.pk)
    wired.sandbox.control("DELETE", f"/faults/{fault['id']}")
    Message.objects.filter(pk=message.pk).update(**fields)
    message.refresh_from_db()
    assert message.status == Message.Status.FAILED
    return message


def _url(conversation_id: int, message_id: int) -> str:
    return f"/api/v1/conversations/{conversation_id}/messages/{message_id}/retry/"


def _post(client, wired: Wired, message: Message, capture, conversation_id: int | None = None):  # noqa: F811
    client.force_login(wired.agent.user)
    with capture(execute=True):
        return client.post(_url(conversation_id or wired.conversation.pk, message.pk),
                           data={}, content_type="application/json")


def _rows(wired: Wired) -> dict[str, int]:  # noqa: F811
    counts = Message.objects.filter(conversation=wired.conversation).values("status")
    return {row["status"]: row["n"] for row in counts.annotate(n=Count("pk"))}


def test_retry_sends_the_same_failed_reply_once_and_makes_no_second_row(
    client, wired: Wired, django_capture_on_commit_callbacks  # noqa: F811
) -> None:
    message = _failed(wired, django_capture_on_commit_callbacks)
    client.force_login(wired.agent.user)
    listed = client.get(f"/api/v1/conversations/{wired.conversation.pk}/messages/").json()
    shown = next(m for m in listed["results"] if m["id"] == message.pk)
    assert (shown["status"], shown["retryable"]) == ("failed", True)
    before = Message.objects.count()

    hooks = HookRecorder()
    try:
        response = _post(client, wired, message, django_capture_on_commit_callbacks)
    finally:
        hooks.close()
    assert response.status_code == 200, response.content
    body = response.json()
    # Answered as it was queued again, before its task ran.
    assert (body["id"], body["status"], body["retryable"]) == (message.pk, "queued", False)
    assert (body["error_reason"], body["send_attempts"]) == ("", 0)
    message.refresh_from_db()
    assert message.status == Message.Status.SENT and message.send_attempts == 1
    assert Message.objects.count() == before
    assert wired.texts() == ["See you at 8."]
    assert [p["status"] for name, p in hooks.seen
            if name == "message.status" and p["message_id"] == message.pk] == ["queued", "sent"]

    # A second retry of the sent reply is refused, and sends nothing.
    again = _post(client, wired, message, django_capture_on_commit_callbacks)
    assert again.status_code == 409
    assert again.json()["detail"] == "Only a failed reply can be sent again."
    assert wired.texts() == ["See you at 8."]


def test_a_reply_that_may_have_been_delivered_is_refused_and_left_as_it_was(
    client, wired: Wired, django_capture_on_commit_callbacks  # noqa: F811
) -> None:
    message = _failed(wired, django_capture_on_commit_callbacks, maybe_delivered=True,
                      error_reason=services.MAYBE_DELIVERED, errcode=None)
    client.force_login(wired.agent.user)
    listed = client.get(f"/api/v1/conversations/{wired.conversation.pk}/messages/").json()
    assert next(m for m in listed["results"] if m["id"] == message.pk)["retryable"] is False
    rows = _rows(wired)

    response = _post(client, wired, message, django_capture_on_commit_callbacks)
    assert response.status_code == 409
    assert "may already have delivered" in response.json()["detail"]
    message.refresh_from_db()
    assert (message.status, message.error_reason) == ("failed", services.MAYBE_DELIVERED)
    assert _rows(wired) == rows
    assert wired.send_calls() and wired.inbox() == []  # only the busy attempts


def test_a_message_not_of_this_conversation_is_404_and_untouched(
    client, wired: Wired, two_brands, django_capture_on_commit_callbacks  # noqa: F811
) -> None:
    message = _failed(wired, django_capture_on_commit_callbacks)
    # Another conversation the agent may see, in the URL, with this reply's id.
    other = two_brands["conversation_a"]
    wired.agent.teams.add(two_brands["team_a"])
    response = _post(client, wired, message, django_capture_on_commit_callbacks,
                     conversation_id=other.pk)
    assert response.status_code == 404
    message.refresh_from_db()
    assert message.status == Message.Status.FAILED
    assert wired.inbox() == []


def test_a_follower_message_or_a_note_cannot_be_retried(
    client, wired: Wired, django_capture_on_commit_callbacks  # noqa: F811
) -> None:
    note = services.message_note(scope=wired.scope, conversation=wired.conversation,
                                 text="VIP", by=wired.agent)
    Message.objects.filter(pk=note.pk).update(status=Message.Status.FAILED)
    response = _post(client, wired, note, django_capture_on_commit_callbacks)
    assert response.status_code == 404
    note.refresh_from_db()
    assert note.status == Message.Status.FAILED and wired.send_calls() == []


def test_a_retry_when_the_window_has_closed_is_refused_with_the_reason(
    client, wired: Wired, django_capture_on_commit_callbacks  # noqa: F811
) -> None:
    message = _failed(wired, django_capture_on_commit_callbacks)
    Follower.objects.filter(pk=wired.follower.pk).update(window_opened_at=None,
                                                          short_window_opened_at=None)
    response = _post(client, wired, message, django_capture_on_commit_callbacks)
    assert response.status_code == 409
    assert "48-hour window" in response.json()["detail"]
    message.refresh_from_db()
    assert message.status == Message.Status.FAILED and message.retryable
    assert wired.inbox() == []


def test_two_retries_at_once_queue_the_reply_once(
    wired: Wired, django_capture_on_commit_callbacks  # noqa: F811
) -> None:
    message = _failed(wired, django_capture_on_commit_callbacks)
    calls_before = len(wired.send_calls())
    with django_capture_on_commit_callbacks(execute=True):
        services.message_retry(scope=wired.scope, conversation=wired.conversation,
                               message=message, by=wired.agent)
        # The second finds it queued already (its send runs once this one commits).
        with pytest.raises(Conflict):
            services.message_retry(scope=wired.scope, conversation=wired.conversation,
                                   message=message, by=wired.agent)
    message.refresh_from_db()
    assert message.status == Message.Status.SENT
    assert wired.texts() == ["See you at 8."]
    assert len(wired.send_calls()) == calls_before + 1
