"""Every push we refuse: a clear 4xx, a log line with the reason, nothing stored."""

import time

import pytest

from accounts import services
from messaging.models import Inbound
from tests.factories import make_account, make_brand, owner_scope
from tests.messaging.callback_support import post, signed, text_message
from wechat import crypto
from wechat.xmlutil import MAX_BODY_BYTES

pytestmark = pytest.mark.django_db

BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]>
<xml><ToUserName>gh_x</ToUserName><FromUserName>o1</FromUserName>
<CreateTime>1</CreateTime><MsgType>text</MsgType><Content>&lol3;</Content><MsgId>1</MsgId></xml>"""


@pytest.fixture
def account():
    return make_account(brand=make_brand(), message_mode="safe")


def test_a_valid_safe_mode_push_is_stored(client, account):
    query, body = signed(account, text_message(account))
    response = post(client, account, query, body)
    assert response.status_code == 200 and response.content == b"success"
    assert Inbound.objects.filter(account=account).count() == 1


def test_it_rejects_a_forged_msg_signature(account, refused):
    query, body = signed(account, text_message(account), token="not-the-token")
    refused(account, query, body, status=403, reason="bad msg_signature")


def test_it_rejects_a_forged_signature_in_plain_mode(refused):
    account = make_account(brand=make_brand(), message_mode="compatible")
    query, body = signed(account, text_message(account), mode="plain", token="forged")
    refused(account, query, body, status=403, reason="bad signature")


def test_it_rejects_signature_only_where_msg_signature_is_due(account, refused):
    # A correct plaintext `signature` proves nothing about the body: safe mode needs more.
    query, body = signed(account, text_message(account), mode="plain")
    refused(account, query, body, status=403, reason="msg_signature")


def test_it_rejects_encrypt_type_without_msg_signature(account, refused):
    query, body = signed(account, text_message(account))
    del query["msg_signature"]
    refused(account, query, body, status=403, reason="msg_signature missing")


# A future timestamp comes closer while the test runs: one beyond the window by a margin.
@pytest.mark.parametrize("skew", [-301, 303, -3600])
def test_it_rejects_a_stale_timestamp(account, refused, skew):
    query, body = signed(account, text_message(account), timestamp=int(time.time()) + skew)
    refused(account, query, body, status=403, reason="stale timestamp")


def test_it_rejects_billion_laughs(refused):
    account = make_account(brand=make_brand(), message_mode="plain")
    query, _body = signed(account, text_message(account), mode="plain")
    refused(account, query, BILLION_LAUGHS, status=400, reason="hostile XML")


def test_it_rejects_billion_laughs_inside_the_ciphertext(account, refused):
    box = crypto.MessageCrypto(account.token, account.encoding_aes_key, account.appid)
    ts, nonce = str(int(time.time())), "12345"
    envelope = box.encrypt_envelope(BILLION_LAUGHS, timestamp=ts, nonce=nonce)
    body = f"<xml><Encrypt><![CDATA[{envelope['Encrypt']}]]></Encrypt></xml>".encode()
    query = {"signature": crypto.url_signature(account.token, ts, nonce), "timestamp": ts,
             "nonce": nonce, "encrypt_type": "aes", "msg_signature": envelope["MsgSignature"]}
    refused(account, query, body, status=400, reason="hostile XML")


def test_it_rejects_malformed_xml(account, refused):
    query, _body = signed(account, text_message(account))
    refused(account, query, b"<xml><Encrypt>unclosed", status=400, reason="malformed")


def test_it_rejects_an_oversize_body(account, refused):
    query, _body = signed(account, text_message(account))
    body = b"<xml><Encrypt>" + b"A" * MAX_BODY_BYTES + b"</Encrypt></xml>"
    refused(account, query, body, status=413, reason="body larger")


def test_it_rejects_an_oversize_content_length_before_reading(account, refused):
    query, body = signed(account, text_message(account))
    refused(account, query, body, status=413, reason="body larger",
            CONTENT_LENGTH=str(MAX_BODY_BYTES + 1))


def test_it_rejects_another_appid_in_the_trailer(account, refused):
    # Signed with our token, encrypted with our key, but addressed to another account.
    query, body = signed(account, text_message(account), crypto_appid="wx_someone_else00")
    refused(account, query, body, status=403, reason="AppID")


def test_it_rejects_an_unknown_appid(account, refused):
    query, body = signed(account, text_message(account))
    refused("wx0000000000000000", query, body, status=404, reason="unknown appid")


def test_a_refused_push_does_not_disturb_what_was_stored(client, account, refused):
    good_query, good_body = signed(account, text_message(account, content="first"))
    assert post(client, account, good_query, good_body).status_code == 200
    forged_query, forged_body = signed(account, text_message(account), token="forged")
    refused(account, forged_query, forged_body, status=403, reason="bad msg_signature")
    assert Inbound.objects.get().payload["Content"] == "first"


def test_the_previous_key_still_decrypts_during_the_grace_period(client, account):
    old_token, old_key = account.token, account.encoding_aes_key
    services.account_update(scope=owner_scope(account.brand), account=account,
                            token="FreshToken99", encoding_aes_key="B" * 43)
    query, body = signed(account, text_message(account, content="old"), token=old_token,
                         key=old_key)
    assert post(client, account, query, body).status_code == 200
    query, body = signed(account, text_message(account, content="new"), token="FreshToken99",
                         key="B" * 43)
    assert post(client, account, query, body).status_code == 200
    assert Inbound.objects.count() == 2


def test_the_previous_key_is_refused_after_the_grace_period(account, refused):
    old_token, old_key = account.token, account.encoding_aes_key
    services.account_update(scope=owner_scope(account.brand), account=account,
                            token="FreshToken99", encoding_aes_key="B" * 43)
    account.refresh_from_db()
    type(account).objects.filter(pk=account.pk).update(previous_secrets_valid_until=None)
    query, body = signed(account, text_message(account), token=old_token, key=old_key)
    refused(account, query, body, status=403, reason="bad msg_signature")


def test_compatible_mode_accepts_a_plaintext_push_with_a_good_signature(client):
    account = make_account(brand=make_brand(), message_mode="compatible")
    query, body = signed(account, text_message(account, content="plain"), mode="plain")
    assert post(client, account, query, body).status_code == 200
    query, body = signed(account, text_message(account, content="sealed"), mode="compatible")
    assert post(client, account, query, body).status_code == 200
    assert sorted(Inbound.objects.values_list("payload__Content", flat=True)) == [
        "plain", "sealed"]
