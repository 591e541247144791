"""Signed replies: a text ends with the agent's customer-facing identity, and the follower
gets exactly what is stored. Notes and images are never signed."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from accounts.errors import InvalidInput
from accounts.services import api_key_create
from messaging import services
from messaging.models import Message, PreparedResponse
from tests.messaging.reply_support import Wired, wired  # noqa: F401 - fixture
from tests.messaging.test_replies_sandbox import PNG

pytestmark = pytest.mark.django_db
API = "/api/v1/conversations/"
SIGNATURE = "\n— Lily · A flagship"


def test_a_signed_reply_reaches_the_followers_inbox_with_the_signature(
    wired: Wired, django_capture_on_commit_callbacks  # noqa: F811
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        message = services.message_reply(
            scope=wired.scope, conversation=wired.conversation, text="Yes, from 6:30.",
            sign=True, by=wired.agent,
        )
    message.refresh_from_db()
    assert message.status == Message.Status.SENT, message.error_reason
    assert message.content == "Yes, from 6:30." + SIGNATURE
    assert message.payload == {"signed": True}
    assert wired.texts() == ["Yes, from 6:30.\n— Lily · A flagship"]


def test_an_unsigned_reply_carries_no_signature(
    wired: Wired, django_capture_on_commit_callbacks  # noqa: F811
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        message = services.message_reply(
            scope=wired.scope, conversation=wired.conversation, text="Yes, from 6:30.",
            by=wired.agent,
        )
    message.refresh_from_db()
    assert message.content == "Yes, from 6:30." and message.payload == {}
    assert wired.texts() == ["Yes, from 6:30."]


def test_a_signed_prepared_response_ends_with_the_signature(
    wired: Wired, django_capture_on_commit_callbacks  # noqa: F811
) -> None:
    PreparedResponse.objects.create(
        brand=wired.account.brand, key="breakfast", title="Breakfast", language="en",
        body="Breakfast at {account_name} is served {hours}.",
    )
    with django_capture_on_commit_callbacks(execute=True):
        message = services.message_reply(
            scope=wired.scope, conversation=wired.conversation, prepared_key="breakfast",
            language="en", sign=True, by=wired.agent,
        )
    message.refresh_from_db()
    assert message.status == Message.Status.SENT, message.error_reason
    assert message.payload == {"prepared_key": "breakfast", "language": "en", "signed": True}
    text = "Breakfast at A flagship is served 09:00–21:00." + SIGNATURE
    assert message.content == text
    assert wired.texts() == [text]


def test_a_text_that_fits_only_unsigned_is_refused_signed_and_nothing_is_sent(
    wired: Wired, django_capture_on_commit_callbacks  # noqa: F811
) -> None:
    text = "x" * (services.TEXT_LIMIT - len(SIGNATURE) + 1)
    with (pytest.raises(InvalidInput) as refused,
          django_capture_on_commit_callbacks(execute=True)):
        services.message_reply(scope=wired.scope, conversation=wired.conversation,
                               text=text, sign=True, by=wired.agent)
    assert str(refused.value.message) == (
        f"signed, this reply has {services.TEXT_LIMIT + 1} characters and at most "
        f"{services.TEXT_LIMIT} fit: shorten it or send it unsigned"
    )
    assert not Message.objects.filter(conversation=wired.conversation,
                                      direction=Message.Direction.OUTBOUND).exists()
    wired.follower.refresh_from_db()
    assert wired.follower.window_sends == 0
    assert wired.inbox() == [] and wired.send_calls() == []

    # One character less and the signed text fits exactly.
    with django_capture_on_commit_callbacks(execute=True):
        message = services.message_reply(scope=wired.scope, conversation=wired.conversation,
                                         text=text[1:], sign=True, by=wired.agent)
    message.refresh_from_db()
    assert len(message.content) == services.TEXT_LIMIT and message.status == "sent"
    assert wired.texts() == [text[1:] + SIGNATURE]


def test_a_long_prepared_response_is_refused_once_signed(
    wired: Wired, django_capture_on_commit_callbacks  # noqa: F811
) -> None:
    PreparedResponse.objects.create(
        brand=wired.account.brand, key="terms", title="Terms", language="en",
        body="y" * services.TEXT_LIMIT,
    )
    with pytest.raises(InvalidInput, match="shorten it or send it unsigned"):
        services.message_reply(scope=wired.scope, conversation=wired.conversation,
                               prepared_key="terms", language="en", sign=True, by=wired.agent)
    assert not Message.objects.filter(direction=Message.Direction.OUTBOUND).exists()
    assert wired.send_calls() == []


def test_sign_over_rest_signs_the_text_and_the_identity_matches_the_detail(
    client, wired: Wired, django_capture_on_commit_callbacks  # noqa: F811
) -> None:
    client.force_login(wired.agent.user)
    detail = client.get(f"{API}{wired.conversation.pk}/").json()
    assert detail["reply_identity"] == "Lily · A flagship"
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(f"{API}{wired.conversation.pk}/messages/",
                               {"text": "See you at breakfast.", "sign": True},
                               content_type="application/json")
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["content"] == f"See you at breakfast.\n— {detail['reply_identity']}"
    assert body["payload"] == {"signed": True}
    assert Message.objects.get(pk=body["id"]).status == "sent"
    assert wired.texts() == [body["content"]]


def test_too_long_signed_text_over_rest_is_a_400_with_the_reason(
    client, wired: Wired  # noqa: F811
) -> None:
    client.force_login(wired.agent.user)
    text = "z" * (services.TEXT_LIMIT - 3)
    response = client.post(f"{API}{wired.conversation.pk}/messages/",
                           {"text": text, "sign": True}, content_type="application/json")
    assert response.status_code == 400
    assert "shorten it or send it unsigned" in response.json()["detail"]
    assert not Message.objects.filter(conversation=wired.conversation).exclude(
        direction=Message.Direction.INBOUND).exists()
    assert wired.send_calls() == []


def test_notes_and_images_ignore_sign(
    client, wired: Wired, django_capture_on_commit_callbacks, settings, tmp_path  # noqa: F811
) -> None:
    settings.MEDIA_ROOT = tmp_path
    client.force_login(wired.agent.user)
    url = f"{API}{wired.conversation.pk}/messages/"
    response = client.post(url, {"kind": "note", "text": "VIP guest", "sign": True},
                           content_type="application/json")
    assert response.status_code == 201, response.content
    assert response.json()["content"] == "VIP guest"
    assert response.json()["payload"] == {}

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(url, {"image": SimpleUploadedFile("lobby.png", PNG, "image/png"),
                                     "sign": "true"})
    assert response.status_code == 201, response.content
    image = Message.objects.get(pk=response.json()["id"])
    assert image.msg_type == "image" and image.content == ""
    assert "signed" not in image.payload and image.status == "sent"
    # The follower got the image and nothing else: no text with a lone signature.
    assert [m["msgtype"] for m in wired.inbox()] == ["image"]


def test_the_reply_identity_is_the_requesters(client, two_brands: dict) -> None:
    convo = two_brands["conversation_a"]  # channel account: A flagship
    manager = two_brands["manager_a"]
    manager.display_name = "Mei"
    manager.save(update_fields=["display_name"])
    client.force_login(manager.user)
    assert client.get(f"{API}{convo.pk}/").json()["reply_identity"] == "Mei · A flagship"
    # The answers of actions carry it too.
    response = client.post(f"{API}{convo.pk}/assign/", {"assignee": manager.pk},
                           content_type="application/json")
    assert response.json()["reply_identity"] == "Mei · A flagship"
    # An integration replies as the account.
    _key, raw = api_key_create(brand=two_brands["brand_a"], name="crm")
    response = client.get(f"{API}{convo.pk}/", HTTP_AUTHORIZATION=f"Bearer {raw}")
    assert response.json()["reply_identity"] == "A flagship"
