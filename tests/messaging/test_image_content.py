"""An image reply is judged by its bytes, never by its file name or the content type the
browser claims: a text file renamed `.png` and random bytes named `.jpg` are refused before
anything is stored or sent; a real PNG named `.jpg` is sent, and stored, as the PNG it is."""

from __future__ import annotations

import io
import random
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image

from accounts.errors import InvalidInput
from messaging import services
from messaging.images import image_check
from messaging.models import Message
from tests.messaging.reply_support import Wired, wired  # noqa: F401 - fixture
from tests.messaging.test_replies_sandbox import PNG

pytestmark = pytest.mark.django_db
API = "/api/v1/conversations/"
NOT_AN_IMAGE = "This file is not a JPEG, PNG, GIF or BMP image (or it is damaged)."
MEDIA_UPLOAD = "/cgi-bin/media/upload"


@pytest.fixture(autouse=True)
def media_root(settings, tmp_path) -> Path:  # noqa: ANN001
    settings.MEDIA_ROOT = tmp_path
    return tmp_path


def _fakes() -> list[SimpleUploadedFile]:
    return [
        SimpleUploadedFile("menu.png", b"Breakfast 6:30-10:00\nDinner 18:00-22:00\n",
                           "image/png"),
        SimpleUploadedFile("photo.jpg", random.Random(9).randbytes(4096), "image/jpeg"),
    ]


def _image(fmt: str, size: tuple[int, int] = (8, 8)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, "teal").save(out, fmt)
    return out.getvalue()


def _nothing_stored_or_sent(wired: Wired, media_root: Path) -> None:  # noqa: F811
    assert not Message.objects.filter(conversation=wired.conversation,
                                      direction=Message.Direction.OUTBOUND).exists()
    assert [p for p in media_root.rglob("*") if p.is_file()] == []
    wired.follower.refresh_from_db()
    assert wired.follower.window_sends == 0  # no window send spent
    assert wired.inbox() == []
    assert wired.sandbox.control("GET", "/calls", query={"appid": wired.appid,
                                                         "path": MEDIA_UPLOAD})["calls"] == []


@pytest.mark.parametrize("fake", range(2), ids=["text-renamed-png", "random-bytes-jpg"])
def test_the_service_refuses_a_file_that_is_not_an_image_whatever_its_name(
    wired: Wired, django_capture_on_commit_callbacks, fake: int, media_root: Path  # noqa: F811
) -> None:
    upload = _fakes()[fake]
    with (pytest.raises(InvalidInput) as refused,
          django_capture_on_commit_callbacks(execute=True) as queued):
        services.message_reply(scope=wired.scope, conversation=wired.conversation,
                               image=upload, by=wired.agent)
    assert refused.value.message == NOT_AN_IMAGE
    assert queued == []  # no send task was queued
    _nothing_stored_or_sent(wired, media_root)


def test_the_endpoint_answers_400_with_the_reason_and_stores_nothing(
    client, wired: Wired, django_capture_on_commit_callbacks, media_root: Path  # noqa: F811
) -> None:
    client.force_login(wired.agent.user)
    url = f"{API}{wired.conversation.pk}/messages/"
    for upload in _fakes():
        with django_capture_on_commit_callbacks(execute=True) as queued:
            response = client.post(url, {"image": upload})
        assert response.status_code == 400, response.content
        assert response.json() == {"detail": NOT_AN_IMAGE}
        assert queued == []
    _nothing_stored_or_sent(wired, media_root)


def test_a_png_named_jpg_is_sent_and_stored_as_png(
    client, wired: Wired, django_capture_on_commit_callbacks  # noqa: F811
) -> None:
    client.force_login(wired.agent.user)
    url = f"{API}{wired.conversation.pk}/messages/"
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(url, {"image": SimpleUploadedFile("lobby.jpg", PNG,
                                                                 "image/jpeg")})
    assert response.status_code == 201, response.content
    message = Message.objects.get(pk=response.json()["id"])
    assert message.status == Message.Status.SENT, message.error_reason
    assert message.media.name.endswith("/lobby.png")
    with message.media.open("rb") as fh:
        assert fh.read() == PNG  # stored whole: the check rewound the file
    # The platform got a .png, and the media route serves it as one.
    [upload] = wired.sandbox.control("GET", "/calls", query={"appid": wired.appid,
                                                             "path": MEDIA_UPLOAD})["calls"]
    with wired.sandbox.state.lock:
        uploaded = wired.sandbox.state.media[message.payload["media_id"]]
    assert (uploaded.filename, uploaded.content_type) == ("lobby.png", "image/png"), upload
    served = client.get(f"{API}{wired.conversation.pk}/media/{message.pk}/")
    assert served["Content-Type"] == "image/png"
    assert [m["msgtype"] for m in wired.inbox()] == ["image"]


@pytest.mark.parametrize(("fmt", "expected"), [
    ("JPEG", "image/jpeg"), ("PNG", "image/png"), ("GIF", "image/gif"), ("BMP", "image/bmp"),
])
def test_each_accepted_format_is_recognised_by_its_bytes(fmt: str, expected: str) -> None:
    upload = SimpleUploadedFile("upload.bin", _image(fmt), "application/octet-stream")
    assert image_check(upload) == expected
    assert upload.tell() == 0  # rewound, ready to be stored


def test_another_image_format_is_refused() -> None:
    upload = SimpleUploadedFile("scan.png", _image("TIFF"), "image/png")
    with pytest.raises(InvalidInput) as refused:
        image_check(upload)
    assert refused.value.message == NOT_AN_IMAGE
    assert upload.tell() == 0


def test_a_damaged_png_is_refused() -> None:
    data = bytearray(_image("PNG"))
    data[-20] ^= 0xFF  # inside the last chunks: the CRC no longer matches
    with pytest.raises(InvalidInput) as refused:
        image_check(SimpleUploadedFile("room.png", bytes(data), "image/png"))
    assert refused.value.message == NOT_AN_IMAGE


@pytest.mark.filterwarnings("ignore::PIL.Image.DecompressionBombWarning")
@pytest.mark.parametrize("side", [12, 40], ids=["over-the-limit", "over-twice-the-limit"])
def test_a_decompression_bomb_is_refused(
    monkeypatch: pytest.MonkeyPatch, side: int
) -> None:
    # Pillow only warns past MAX_IMAGE_PIXELS and raises past twice that; both are refused.
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 100)
    upload = SimpleUploadedFile("bomb.png", _image("PNG", (side, side)), "image/png")
    with pytest.raises(InvalidInput) as refused:
        image_check(upload)
    assert refused.value.message == "This image has too many pixels (at most 100)."


def test_an_image_over_10_mb_is_refused(
    wired: Wired, django_capture_on_commit_callbacks, media_root: Path  # noqa: F811
) -> None:
    upload = SimpleUploadedFile("huge.png", PNG + b"\0" * (10 * 1024 * 1024), "image/png")
    with (pytest.raises(InvalidInput) as refused,
          django_capture_on_commit_callbacks(execute=True) as queued):
        services.message_reply(scope=wired.scope, conversation=wired.conversation,
                               image=upload, by=wired.agent)
    assert refused.value.message == "An image may be at most 10 MB."
    assert queued == []
    _nothing_stored_or_sent(wired, media_root)

