"""/wechat/platform/ refuses what it cannot trust, clearly, and stores nothing from it."""

from __future__ import annotations

import logging
import re
import time
from urllib.parse import quote

import pytest

from accounts.models import OfficialAccount, PendingAuthorization, PlatformApp
from tests.accounts.platform_support import (
    make_platform,
    random_key,
    signed_push,
    ticket_message,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def platform(sandbox) -> PlatformApp:
    platform = make_platform(sandbox)
    platform.verify_ticket = "ticket@@@original"
    platform.save()
    return platform


def _post(client, path: str, body: bytes):
    return client.post(path, data=body, content_type="text/xml")


def _unchanged(platform: PlatformApp) -> None:
    platform.refresh_from_db()
    assert platform.verify_ticket == "ticket@@@original"
    assert OfficialAccount.objects.count() == 0 and PendingAuthorization.objects.count() == 0


def test_a_signed_ticket_push_is_stored_and_answered_success(client, platform):
    path, body = signed_push(platform, ticket_message(platform, "ticket@@@fresh"))
    response = _post(client, path, body)
    assert (response.status_code, response.content) == (200, b"success")
    platform.refresh_from_db()
    assert platform.verify_ticket == "ticket@@@fresh"


def test_it_rejects_a_forged_signature(client, platform, caplog):
    path, body = signed_push(platform, ticket_message(platform, "ticket@@@forged"))
    forged = path.replace("msg_signature=", "msg_signature=0")
    with caplog.at_level(logging.WARNING, logger="accounts.platform_views"):
        response = _post(client, forged, body)
    assert response.status_code == 403
    assert "signature is not valid" in response.content.decode()
    assert any(
        "platform push rejected" in r.getMessage() and r.reason == "PushSignatureInvalid"
        for r in caplog.records
    )
    _unchanged(platform)


def test_it_rejects_a_push_signed_with_another_platform_token(client, platform):
    other = PlatformApp(
        component_appid=platform.component_appid,
        token="someoneelse",
        encoding_aes_key=platform.encoding_aes_key,
    )
    path, body = signed_push(other, ticket_message(platform, "ticket@@@forged"))
    assert _post(client, path, body).status_code == 403
    _unchanged(platform)


def test_it_rejects_a_push_for_an_unknown_platform(client, platform, caplog):
    stranger = PlatformApp(
        component_appid="wx0000000000000000", token="tok", encoding_aes_key=random_key()
    )
    path, body = signed_push(stranger, ticket_message(stranger, "ticket@@@forged"))
    with caplog.at_level(logging.WARNING, logger="accounts.platform_views"):
        response = _post(client, path, body)
    assert response.status_code == 404
    assert any(getattr(r, "reason", "") == "UnknownPlatform" for r in caplog.records)
    _unchanged(platform)


def test_it_rejects_a_signed_push_it_cannot_decrypt(client, platform):
    # Signed with the right token, encrypted with another key: padding or length fail.
    path, body = signed_push(
        platform, ticket_message(platform, "ticket@@@forged"), key=random_key()
    )
    response = _post(client, path, body)
    assert response.status_code == 400 and "decrypted" in response.content.decode()
    _unchanged(platform)


def test_it_rejects_hostile_xml_before_looking_at_anything(client, platform, caplog):
    hostile = (
        b'<?xml version="1.0"?><!DOCTYPE xml [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
        b"<xml><AppId>&x;</AppId><Encrypt>abc</Encrypt></xml>"
    )
    with caplog.at_level(logging.WARNING, logger="accounts.platform_views"):
        response = _post(client, "/wechat/platform/?timestamp=1&nonce=2&msg_signature=3", hostile)
    assert response.status_code == 400
    assert any(getattr(r, "reason", "") == "PushMalformed" for r in caplog.records)
    _unchanged(platform)


def test_it_rejects_a_push_without_signature_parameters(client, platform):
    _path, body = signed_push(platform, ticket_message(platform, "ticket@@@forged"))
    assert _post(client, "/wechat/platform/", body).status_code == 400
    _unchanged(platform)


def test_it_rejects_a_push_whose_inner_appid_differs(client, platform):
    message = {**ticket_message(platform, "ticket@@@forged"), "AppId": "wx1111111111111111"}
    path, body = signed_push(platform, message)
    # The envelope names our platform, the signed plaintext another one.
    body = body.replace(b"wx1111111111111111", platform.component_appid.encode())
    assert _post(client, path, body).status_code == 400
    _unchanged(platform)


def test_it_answers_only_post(client, platform):
    assert client.get("/wechat/platform/").status_code == 405


def test_an_authorization_push_nobody_started_is_acknowledged_and_ignored(client, platform):
    message = {
        "AppId": platform.component_appid,
        "CreateTime": int(time.time()),
        "InfoType": "authorized",
        "AuthorizerAppid": "wx2222222222222222",
        "AuthorizationCode": "queryauthcode@@@x",
        "AuthorizationCodeExpiredTime": int(time.time()) + 3600,
        "PreAuthCode": "preauthcode@@@nobody",
    }
    path, body = signed_push(platform, message)
    assert _post(client, path, body).content == b"success"
    _unchanged(platform)


def test_an_unknown_info_type_is_acknowledged(client, platform):
    message = {"AppId": platform.component_appid, "CreateTime": 1, "InfoType": "notify_x"}
    path, body = signed_push(platform, message)
    assert _post(client, path, body).content == b"success"
    _unchanged(platform)


def test_it_rejects_a_replayed_old_push(client, platform):
    import time

    path, body = signed_push(
        platform, ticket_message(platform, "ticket@@@replayed"), timestamp=int(time.time()) - 3600
    )
    response = _post(client, path, body)
    assert response.status_code == 400
    assert "timestamp" in response.content.decode()
    _unchanged(platform)


@pytest.mark.parametrize("timestamp", ["³", "１７００", "-5"])
def test_it_rejects_a_timestamp_that_is_no_number_as_malformed(client, platform, timestamp):
    path, body = signed_push(platform, ticket_message(platform, "ticket@@@odd-time"))
    odd = re.sub(r"timestamp=\d+", f"timestamp={quote(timestamp)}", path)
    response = _post(client, odd, body)
    assert response.status_code == 400
    assert "timestamp" in response.content.decode()
    _unchanged(platform)
