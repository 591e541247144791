"""Media is read and written only through the configured storage, never a local path: with
Django's in-memory storage as STORAGES["default"], an image a follower sends is stored and
the scoped media route serves it; an agent's image reply is stored, uploaded to the
platform from the storage and served; nothing lands under MEDIA_ROOT."""

from __future__ import annotations

import base64
from pathlib import Path

import pytest
from django.core.files.storage import InMemoryStorage, default_storage
from django.core.files.uploadedfile import SimpleUploadedFile

from accounts.models import Membership, Role
from messaging.models import Message
from tests.factories import make_brand
from tests.messaging.callback_support import connected_account, follow, say
from tests.messaging.reply_support import Wired, wired  # noqa: F401 - fixture
from tests.messaging.test_replies_sandbox import PNG

API = "/api/v1/conversations/"


@pytest.fixture
def media_root(settings, tmp_path: Path) -> Path:  # noqa: ANN001
    """Media in memory; MEDIA_ROOT points at a directory that must never be created."""
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {"BACKEND": "django.core.files.storage.InMemoryStorage"},
    }
    assert isinstance(default_storage, InMemoryStorage)  # what every FileField now uses
    return tmp_path / "media"


def _served(client, conversation_id: int, message: Message) -> bytes:  # noqa: ANN001
    response = client.get(f"{API}{conversation_id}/media/{message.pk}/")
    assert response.status_code == 200
    return b"".join(response.streaming_content)


@pytest.mark.django_db(transaction=True)
def test_an_image_a_follower_sends_is_stored_and_served_through_the_storage(
    sandbox, live_server, settings, client, media_root: Path  # noqa: ANN001
) -> None:
    settings.WECHAT_API_BASE = sandbox.base_url
    brand = make_brand()
    account = connected_account(sandbox, live_server, brand=brand)
    openid = follow(sandbox, account)["openid"]
    sent = say(sandbox, account, openid, type="image")
    assert sent["push"]["status"] == 200, sent["push"]

    message = Message.objects.get(account=account, wechat_msg_id=str(sent["msg_id"]))
    assert message.media.name.endswith(".png")
    with default_storage.open(message.media.name, "rb") as fh:
        stored = fh.read()
    assert stored.startswith(b"\x89PNG")
    client.force_login(Membership.objects.get(brand=brand, role=Role.OWNER).user)
    assert _served(client, message.conversation_id, message) == stored
    assert not media_root.exists()


@pytest.mark.django_db
def test_an_image_reply_is_stored_uploaded_and_served_through_the_storage(
    client, wired: Wired, django_capture_on_commit_callbacks, media_root: Path  # noqa: ANN001, F811
) -> None:
    client.force_login(wired.agent.user)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(f"{API}{wired.conversation.pk}/messages/",
                               {"image": SimpleUploadedFile("lobby.png", PNG, "image/png")})
    assert response.status_code == 201, response.content
    message = Message.objects.get(pk=response.json()["id"])
    assert message.status == Message.Status.SENT, message.error_reason
    assert default_storage.exists(message.media.name)
    # The platform got the bytes read back from the storage.
    with wired.sandbox.state.lock:
        uploaded = wired.sandbox.state.media[message.payload["media_id"]]
    assert base64.b64decode(uploaded.data_b64) == PNG
    assert _served(client, wired.conversation.pk, message) == PNG
    assert not media_root.exists()
