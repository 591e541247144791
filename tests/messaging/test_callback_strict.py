"""The callback, stricter: a retry gets the first answer's reply, pushes must be addressed to
the account and come from an openid, URL verification has a timestamp window, and a chunked
body is read within the size limit.

Every refusal is checked twice: the clear answer and log line, and nothing stored."""

from __future__ import annotations

import http.client
import io
import logging
import os
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest
import requests
from django.db import connection
from django.test import Client

from accounts.models import OfficialAccount, PlatformApp
from messaging import ingest
from messaging.models import AutoReply, Inbound, Message
from tests.factories import make_account, make_brand
from tests.messaging.callback_support import (
    CALLBACK,
    counts,
    event_message,
    post,
    signed,
    text_message,
)
from wechat import crypto
from wechat.xmlutil import MAX_BODY_BYTES, parse_xml

pytestmark = pytest.mark.django_db

ROOT = Path(__file__).resolve().parents[2]
# A real openid from the platform's documentation (tests/fixtures/wechat).
REAL_OPENID = "o9AgO5Kd5ggOC-bXrbNODIiE3bGY"


def _opened(account: OfficialAccount, response: Any) -> dict:
    """The passive reply in ``response``, decrypted when it is encrypted."""
    assert response.content != b"success", "answered success, not a reply"
    body = parse_xml(response.content)
    if "Encrypt" in body:
        box = crypto.MessageCrypto(account.token, account.encoding_aes_key, account.appid)
        return parse_xml(box.decrypt(body["Encrypt"]))
    return body


# --- 1. a retry is answered the reply the first answer carried ---------------------------


@pytest.fixture(params=["one_call", "orm"])
def ingest_path(request, monkeypatch):
    """Both ways a follower's message is stored: PostgreSQL's function, and the ORM."""
    if request.param == "orm":
        monkeypatch.setattr(ingest, "ONE_CALL_VENDORS", frozenset())
    else:
        assert connection.vendor in ingest.ONE_CALL_VENDORS
    return request.param


@pytest.mark.parametrize("mode", ["safe", "plain"])
def test_a_retried_message_gets_the_same_auto_reply_and_stores_nothing_twice(
    client, two_brands, ingest_path, mode
):
    account = two_brands["a1"]
    OfficialAccount.objects.filter(pk=account.pk).update(message_mode=mode)
    account.refresh_from_db()
    AutoReply.objects.create(brand=account.brand, kind="keyword", trigger="price",
                             body="From 99.")
    query, body = signed(account, text_message(account, content="price?"), mode=mode)

    first = post(client, account, query, body)
    after_first = counts()
    retry = post(client, account, query, body)

    assert first.status_code == retry.status_code == 200
    assert _opened(account, first)["Content"] == _opened(account, retry)["Content"] == "From 99."
    assert _opened(account, retry)["ToUserName"] == "oFollower_1"
    if mode == "safe":
        assert first.content != retry.content  # encrypted afresh, same reply inside
    assert counts() == after_first
    assert Message.objects.filter(direction="out", content="From 99.").count() == 1
    assert Inbound.objects.get().passive_reply == "From 99."


def test_a_retried_message_without_a_reply_is_still_answered_success(client, two_brands,
                                                                     ingest_path):
    account = two_brands["a1"]
    query, body = signed(account, text_message(account, content="hello"))
    assert post(client, account, query, body).content == b"success"
    after_first = counts()
    assert post(client, account, query, body).content == b"success"
    assert counts() == after_first
    assert Inbound.objects.get().passive_reply == ""


def test_a_retried_follow_gets_the_welcome_again(client, two_brands):
    account = two_brands["a1"]
    AutoReply.objects.create(brand=account.brand, kind="welcome", body="Welcome!")
    query, body = signed(account, event_message(account, "subscribe", openid=REAL_OPENID))

    first = post(client, account, query, body)
    after_first = counts()
    retry = post(client, account, query, body)

    assert _opened(account, first)["Content"] == _opened(account, retry)["Content"] == "Welcome!"
    assert counts() == after_first


@pytest.mark.django_db(transaction=True)
def test_identical_posts_at_once_all_get_the_one_auto_reply(live_server, ingest_path):
    # The copies that lose the race wait on the first one's row, then read its reply.
    account = make_account(brand=make_brand(), app_secret="")
    make_account(brand=make_brand())
    AutoReply.objects.create(brand=account.brand, kind="keyword", trigger="price",
                             body="From 99.")
    query, body = signed(account, text_message(account, content="price?"))
    url = live_server.url + CALLBACK.format(appid=account.appid)
    barrier = threading.Barrier(6)
    answers: list[requests.Response] = []

    def deliver() -> None:
        barrier.wait()
        answers.append(requests.post(url, params=query, data=body, timeout=10))

    threads = [threading.Thread(target=deliver) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert [a.status_code for a in answers] == [200] * 6
    assert {_opened(account, a)["Content"] for a in answers} == {"From 99."}
    assert Inbound.objects.count() == 1
    assert Message.objects.filter(direction="out").count() == 1


# --- 2. the push is addressed to this account ---------------------------------------------


@pytest.mark.parametrize(("account_mode", "push_mode"),
                         [("plain", "plain"), ("compatible", "plain"),
                          ("compatible", "compatible"), ("safe", "safe")])
def test_a_push_naming_another_accounts_original_id_is_refused(two_brands, refused,
                                                               account_mode, push_mode):
    account, other = two_brands["a1"], two_brands["b1"]
    OfficialAccount.objects.filter(pk=account.pk).update(message_mode=account_mode)
    account.refresh_from_db()
    message = {**text_message(account), "ToUserName": other.original_id}
    # Signed (and encrypted) with this account's own secrets: only the addressee is wrong.
    query, body = signed(account, message, mode=push_mode)
    refused(account, query, body, status=403,
            reason="ToUserName is not this account's original id")


def test_a_platform_push_for_another_authorised_account_is_refused(two_brands, refused):
    # The platform's key decrypts the pushes of every account authorised to it, and its
    # trailer names the component, not the account: only ToUserName tells them apart.
    platform = PlatformApp.objects.create(component_appid="wx" + "c" * 16,
                                          component_appsecret="s", token="PlatformToken1",
                                          encoding_aes_key="P" * 43)
    account = make_account(brand=two_brands["brand_a"], connection="platform")
    other = two_brands["b1"]
    message = {**text_message(account), "ToUserName": other.original_id}
    query, body = signed(account, message, token=platform.token,
                         key=platform.encoding_aes_key, crypto_appid=platform.component_appid)
    refused(account, query, body, status=403,
            reason="ToUserName is not this account's original id")


def test_an_encrypted_push_teaches_an_account_without_an_original_id_its_id(client,
                                                                           two_brands,
                                                                           refused):
    account = make_account(brand=two_brands["brand_a"], original_id="")
    message = {**text_message(account), "ToUserName": "gh_learnt000001"}
    query, body = signed(account, message)
    assert post(client, account, query, body).status_code == 200
    account.refresh_from_db()
    assert account.original_id == "gh_learnt000001"
    # From now on it is checked like any other.
    stray = {**text_message(account), "ToUserName": two_brands["b1"].original_id}
    query, body = signed(account, stray)
    refused(account, query, body, status=403,
            reason="ToUserName is not this account's original id")


def test_a_plaintext_push_teaches_nothing_to_an_account_without_an_original_id(client,
                                                                              two_brands):
    # The signature of a plaintext push does not cover its body: it is stored (as before
    # the check existed) but the id it names is not taken as the account's.
    account = make_account(brand=two_brands["brand_a"], original_id="", message_mode="plain")
    message = {**text_message(account), "ToUserName": "gh_claimed00001"}
    query, body = signed(account, message, mode="plain")
    assert post(client, account, query, body).status_code == 200
    account.refresh_from_db()
    assert account.original_id == ""
    assert Inbound.objects.filter(account=account).count() == 1


# --- 4. the sender is an openid -------------------------------------------------------------


@pytest.mark.parametrize("openid", [
    "o" * 302,  # the one the issue saw cut to 64
    "o" * 65,  # one past the column
    "o9AgO5Kd5ggOC bXrbNODIiE3bGY",
    "o9AgO5Kd5ggOC/bXrbNODIiE3bGY",
    "o9AgO5Kd5ggOC=",
    "o9AgO5Kd@example.com",
    "o9AgO5Kd5ggOC\u200bbXrbNODIiE3bGY",
    "用户",
])
def test_a_sender_that_is_not_an_openid_is_refused(two_brands, refused, openid):
    account = two_brands["a1"]
    query, body = signed(account, text_message(account, openid=openid))
    refused(account, query, body, status=400, reason="FromUserName is not an openid")


def test_an_event_from_a_sender_that_is_not_an_openid_is_refused(two_brands, refused):
    account = two_brands["a1"]
    query, body = signed(account, event_message(account, "subscribe", openid="x" * 302))
    refused(account, query, body, status=400, reason="FromUserName is not an openid")


@pytest.mark.parametrize("openid", [REAL_OPENID, "oR5Gjjl_eiZoUpGozMo7dbBJ362A", "a" * 64])
def test_real_openids_and_one_as_long_as_the_column_are_accepted(client, two_brands, openid):
    account = two_brands["a1"]
    query, body = signed(account, text_message(account, openid=openid))
    assert post(client, account, query, body).status_code == 200
    assert Inbound.objects.get(account=account).openid == openid


# --- 5. URL verification has the pushes' timestamp window ---------------------------------


def _verification(token: str, timestamp: str) -> dict:
    nonce = "1514711492"
    return {"signature": crypto.url_signature(token, timestamp, nonce), "timestamp": timestamp,
            "nonce": nonce, "echostr": "4375120948345356249"}


# A future timestamp comes closer while the test runs: one beyond the window by a margin.
@pytest.mark.parametrize("skew", [-301, 303, -3600])
def test_url_verification_with_a_stale_timestamp_is_refused(client, two_brands, caplog, skew):
    account = two_brands["a1"]
    before = counts()
    params = _verification(account.token, str(int(time.time()) + skew))
    with caplog.at_level(logging.WARNING, logger="messaging.views"):
        response = client.get(CALLBACK.format(appid=account.appid), params)
    assert response.status_code == 403 and response.content == b"stale timestamp"
    assert b"4375120948345356249" not in response.content
    assert any(getattr(r, "reason", "") == "stale timestamp" for r in caplog.records)
    assert counts() == before


def test_url_verification_with_a_timestamp_that_is_not_a_number_is_refused(client,
                                                                          two_brands):
    account = two_brands["a1"]
    response = client.get(CALLBACK.format(appid=account.appid),
                          _verification(account.token, "soon"))
    assert response.status_code == 400 and b"not a number" in response.content


def test_url_verification_within_the_window_answers_the_echostr(client, two_brands):
    account = two_brands["a1"]
    response = client.get(CALLBACK.format(appid=account.appid),
                          _verification(account.token, str(int(time.time()) - 250)))
    assert response.status_code == 200 and response.content == b"4375120948345356249"


# --- 6. a chunked body -----------------------------------------------------------------------


class ChunkedClient(Client):
    """Sends its bodies as a WSGI server hands a de-chunked one over: no CONTENT_LENGTH,
    ``Transfer-Encoding: chunked``, and a ``wsgi.input`` read until it ends (the request's
    body, or ``stream`` when given)."""

    def __init__(self, *, stream: io.BytesIO | None = None) -> None:
        super().__init__()
        self.stream = stream

    def _base_environ(self, **request: Any) -> dict:
        environ = super()._base_environ(**request)
        body = environ["wsgi.input"].read()
        environ.pop("CONTENT_LENGTH", None)
        environ["HTTP_TRANSFER_ENCODING"] = "chunked"
        if self.stream is None:
            self.stream = io.BytesIO(body)
        environ["wsgi.input"] = self.stream
        return environ


def test_a_chunked_push_is_read_and_stored(two_brands):
    account = two_brands["a1"]
    query, body = signed(account, text_message(account, content="chunked"))
    response = post(ChunkedClient(), account, query, body)
    assert response.status_code == 200 and response.content == b"success"
    assert Inbound.objects.get(account=account).payload["Content"] == "chunked"


def test_a_chunked_body_over_the_limit_is_refused_reading_one_byte_past_it(two_brands, caplog):
    account = two_brands["a1"]
    query, _body = signed(account, text_message(account))
    chunked = ChunkedClient(stream=io.BytesIO(b"<xml><Encrypt>" + b"A" * (4 * MAX_BODY_BYTES)))
    before = counts()
    with caplog.at_level(logging.WARNING, logger="messaging.views"):
        response = post(chunked, account, query, b"")
    assert response.status_code == 413 and b"body larger" in response.content
    assert chunked.stream.tell() == MAX_BODY_BYTES + 1  # read one byte past, no more
    assert [r.status for r in caplog.records if r.getMessage() == "callback refused"] == [413]
    assert counts() == before


class _BrokenStream(io.BytesIO):
    def read(self, size: int | None = -1) -> bytes:
        raise OSError("the client went away mid-chunk")


def test_a_chunked_body_that_breaks_off_is_refused(two_brands, caplog):
    account = two_brands["a1"]
    query, body = signed(account, text_message(account))
    chunked = ChunkedClient(stream=_BrokenStream())
    before = counts()
    with caplog.at_level(logging.WARNING, logger="messaging.views"):
        response = post(chunked, account, query, body)
    assert response.status_code == 400 and b"could not be read" in response.content
    assert [r.status for r in caplog.records if r.getMessage() == "callback refused"] == [400]
    assert counts() == before


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def gunicorn(transactional_db):
    """The product's production server (gunicorn, sync worker) on this test's database."""
    port = _free_port()
    db = connection.settings_dict
    login = db["USER"] + (f":{db['PASSWORD']}" if db["PASSWORD"] else "")
    env = {
        **os.environ, "DEBUG": "1", "CELERY_TASK_ALWAYS_EAGER": "1", "DB_CONN_MAX_AGE": "0",
        "DATABASE_URL": f"postgres://{login}@{db['HOST']}:{db['PORT']}/{db['NAME']}",
    }
    command = [str(Path(sys.executable).parent / "gunicorn"), "config.wsgi", "--bind",
               f"127.0.0.1:{port}", "--workers", "1", "--log-level", "warning"]
    proc = subprocess.Popen(command, cwd=ROOT, env=env)  # noqa: S603 - our own server
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                if time.monotonic() > deadline or proc.poll() is not None:
                    raise
                time.sleep(0.1)
        yield port
    finally:
        proc.terminate()
        proc.wait(10)


def _chunked_post(port: int, path: str, body: bytes) -> tuple[int, bytes]:
    """A POST whose body goes out in 100-byte chunks, with no Content-Length."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        pieces = (body[i:i + 100] for i in range(0, len(body), 100))
        conn.request("POST", path, body=pieces, encode_chunked=True,
                     headers={"Content-Type": "text/xml", "Transfer-Encoding": "chunked"})
        response = conn.getresponse()
        return response.status, response.read()
    finally:
        conn.close()


def test_a_chunked_push_over_a_real_socket_is_stored_by_gunicorn(gunicorn):
    account = make_account(brand=make_brand(), app_secret="")
    make_account(brand=make_brand())  # a second brand, as every dataset has
    query, body = signed(account, text_message(account, content="over the wire"))
    path = CALLBACK.format(appid=account.appid) + "?" + urlencode(query)

    assert _chunked_post(gunicorn, path, body) == (200, b"success")
    assert Inbound.objects.get(account=account).payload["Content"] == "over the wire"

    before = counts()
    too_big = b"<xml><Encrypt>" + b"A" * MAX_BODY_BYTES + b"</Encrypt></xml>"
    status, answer = _chunked_post(gunicorn, path, too_big)
    assert status == 413 and b"body larger" in answer
    # Broken framing: the second chunk's size is not hexadecimal.
    status, answer = _raw_post(gunicorn, path, b"%x\r\n%s\r\nzz\r\n" % (len(body), body))
    assert status == 400 and b"could not be read" in answer
    assert counts() == before


def _raw_post(port: int, path: str, framed: bytes) -> tuple[int, bytes]:
    head = (f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: text/xml\r\n"
            "Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n").encode()
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(head + framed)
        sock.shutdown(socket.SHUT_WR)
        answer = b""
        while chunk := sock.recv(65536):
            answer += chunk
    status_line, _, rest = answer.partition(b"\r\n")
    return int(status_line.split()[1]), rest
