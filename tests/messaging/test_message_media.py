"""A message's stored image is served through the conversation it is read in, scoped like
the conversation's history: never a bare file path."""

from __future__ import annotations

import pytest
from django.core.files.base import ContentFile
from django.core.files.uploadedfile import SimpleUploadedFile

from messaging.models import Conversation, Message
from tests.factories import make_conversation, make_follower
from tests.messaging.reply_support import Wired, wired  # noqa: F401 - fixture
from tests.messaging.test_replies_sandbox import PNG

pytestmark = pytest.mark.django_db
API = "/api/v1/conversations/"


@pytest.fixture(autouse=True)
def _media_root(settings, tmp_path) -> None:  # noqa: ANN001
    settings.MEDIA_ROOT = tmp_path


def _stored(conversation: Conversation, name: str, content: bytes,
            msg_type: str = "image") -> Message:
    message = Message(brand_id=conversation.brand_id, conversation=conversation,
                      account_id=conversation.channel_account_id, direction="in",
                      msg_type=msg_type)
    message.media.save(name, ContentFile(content), save=True)
    return message


def test_an_image_reply_is_readable_through_its_conversation(
    client, wired: Wired, django_capture_on_commit_callbacks  # noqa: F811
) -> None:
    client.force_login(wired.agent.user)
    url = f"{API}{wired.conversation.pk}/messages/"
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(url, {"image": SimpleUploadedFile("lobby.png", PNG, "image/png")})
    assert response.status_code == 201, response.content
    sent = response.json()
    media_url = f"{API}{wired.conversation.pk}/media/{sent['id']}/"
    assert sent["media_url"] == media_url
    listed = client.get(url).json()["results"]
    assert [m["media_url"] for m in listed if m["msg_type"] == "image"] == [media_url]

    image = client.get(media_url)
    assert image.status_code == 200
    assert image["Content-Type"] == "image/png"
    assert b"".join(image.streaming_content) == PNG
    assert "sandbox" in image["Content-Security-Policy"]
    assert image["X-Content-Type-Options"] == "nosniff"
    assert image["Cache-Control"].startswith("private")


def test_nobody_outside_the_conversation_gets_the_image(client, two_brands) -> None:
    convo = two_brands["conversation_a"]  # a1, team A
    message = _stored(convo, "guest.png", PNG)
    url = f"{API}{convo.pk}/media/{message.pk}/"
    client.force_login(two_brands["admin_b"].user)
    assert client.get(url).status_code == 404
    client.force_login(two_brands["agent_a"].user)  # serves a2 only
    assert client.get(url).status_code == 404
    # Through a conversation the agent does see, someone else's message is still not theirs.
    own = make_conversation(account=two_brands["a2"])
    assert client.get(f"{API}{own.pk}/media/{message.pk}/").status_code == 404
    client.force_login(two_brands["manager_a"].user)  # serves a1
    assert client.get(url).status_code == 200


def test_the_customers_image_on_another_account_is_read_through_this_conversation(
    client, two_brands
) -> None:
    """The history shows the customer's messages on the other accounts the member serves;
    their images come through the conversation being read."""
    a1, a2 = two_brands["a1"], two_brands["a2"]
    here = make_conversation(account=a2)
    there = make_conversation(follower=make_follower(account=a1, customer=here.customer))
    message = _stored(there, "earlier.png", PNG)
    admin = two_brands["admin_a"]
    client.force_login(admin.user)
    history = client.get(f"{API}{here.pk}/history/").json()["results"]
    (entry,) = [m for m in history if m["id"] == message.pk]
    assert entry["media_url"] == f"{API}{here.pk}/media/{message.pk}/"
    assert client.get(entry["media_url"]).status_code == 200
    # agent_a serves a2, not a1: the a1 message is not in their history, nor its image.
    client.force_login(two_brands["agent_a"].user)
    history = client.get(f"{API}{here.pk}/history/").json()["results"]
    assert message.pk not in [m["id"] for m in history]
    assert client.get(entry["media_url"]).status_code == 404


def test_no_file_answers_404_and_other_media_is_a_download(client, two_brands) -> None:
    convo = two_brands["conversation_a"]
    client.force_login(two_brands["admin_a"].user)
    text = Message.objects.create(brand_id=convo.brand_id, conversation=convo,
                                  account_id=convo.channel_account_id, direction="in",
                                  content="hello")
    assert client.get(f"{API}{convo.pk}/media/{text.pk}/").status_code == 404
    voice = _stored(convo, "note.amr", b"#!AMR\n" + bytes(8), msg_type="voice")
    response = client.get(f"{API}{convo.pk}/media/{voice.pk}/")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/octet-stream"
    assert response["Content-Disposition"].startswith("attachment")
    page = _stored(convo, "page.png", b"<script>alert(1)</script>")
    page.media.storage.delete(page.media.name)  # the file is gone from the disk
    assert client.get(f"{API}{convo.pk}/media/{page.pk}/").status_code == 404
