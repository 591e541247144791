"""Sandbox fixtures for every test: the platform emulator and a callback receiver.

A pytest plugin (registered in ``tests/conftest.py``), so the Django-free ``tests/wechat``
and the portal's tests share one session sandbox.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import pytest

from wechat import crypto
from wechat.sandbox.server import SandboxServer, start_in_thread
from wechat.xmlutil import parse_xml, to_xml


@pytest.fixture(scope="session")
def sandbox_server() -> Iterator[SandboxServer]:
    sb = start_in_thread(host="127.0.0.1", port=0)
    yield sb
    sb.stop()


@pytest.fixture
def sandbox(sandbox_server: SandboxServer) -> Iterator[SandboxServer]:
    """The session's sandbox with fresh state, clock and faults for this test."""
    sandbox_server.reset()
    yield sandbox_server
    sandbox_server.reset()


@pytest.fixture
def portal_sandbox(sandbox: SandboxServer, settings: Any) -> Iterator[SandboxServer]:
    """The sandbox as the portal's WeChat (``WECHAT_API_BASE``), with an empty cache so no
    access token survives from another test."""
    from django.core.cache import cache

    settings.WECHAT_API_BASE = sandbox.base_url
    cache.clear()
    yield sandbox
    cache.clear()


@dataclass
class Recorded:
    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: bytes
    at: float = field(default_factory=time.monotonic)

    @property
    def text(self) -> str:
        return self.body.decode("utf-8")

    def json(self) -> Any:
        return json.loads(self.body)


# A behaviour hook: given the request, answer (status, body) or None for the defaults.
Responder = Callable[[Recorded], "tuple[int, bytes | str] | None"]


class CallbackReceiver:
    """A loopback HTTP server standing in for the developer's callback URL.

    Records every request and answers with `status`/`body` after `delay` seconds; the
    first `fail_first` requests get `fail_status` instead; `responder`, when set, decides.
    """

    def __init__(self) -> None:
        self.requests: list[Recorded] = []
        self.status = 200
        self.body: bytes | str = b"success"
        self.delay = 0.0
        self.fail_first = 0
        self.fail_status = 500
        self.responder: Responder | None = None
        self._lock = threading.Lock()
        self._arrived = threading.Condition(self._lock)
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True
            wbufsize = 64 * 1024

            def _handle(self) -> None:
                parts = urlsplit(self.path)
                length = int(self.headers.get("Content-Length") or 0)
                rec = Recorded(self.command, parts.path,
                               dict(parse_qsl(parts.query, keep_blank_values=True)),
                               {k.lower(): v for k, v in self.headers.items()},
                               self.rfile.read(length) if length else b"")
                status, body = receiver._answer(rec)
                data = body.encode("utf-8") if isinstance(body, str) else body
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "text/plain; charset=utf-8")
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the pusher gave up waiting, as WeChat does after its timeout

            do_GET = do_POST = _handle

            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
                return

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.port = self.httpd.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}/wechat/callback"
        # A short poll interval keeps stop() (and so each test's teardown) quick.
        self._thread = threading.Thread(target=self.httpd.serve_forever, daemon=True,
                                        kwargs={"poll_interval": 0.02})
        self._thread.start()

    def _answer(self, rec: Recorded) -> tuple[int, bytes | str]:
        with self._arrived:
            self.requests.append(rec)
            n = len(self.requests)
            self._arrived.notify_all()
            delay, responder = self.delay, self.responder
            failing = n <= self.fail_first
            default = (self.fail_status, b"") if failing else (self.status, self.body)
        if delay:
            time.sleep(delay)
        if responder is not None and not failing:
            answer = responder(rec)
            if answer is not None:
                return answer
        return default

    def configure(self, **settings: Any) -> CallbackReceiver:
        with self._lock:
            for key, value in settings.items():
                if not hasattr(self, key):
                    raise AttributeError(key)
                setattr(self, key, value)
        return self

    def wait_for(self, count: int, timeout: float = 5.0) -> list[Recorded]:
        """Block until `count` requests arrived (for pushes made in the background)."""
        with self._arrived:
            self._arrived.wait_for(lambda: len(self.requests) >= count, timeout)
            return list(self.requests)

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def callback_receiver() -> Iterator[CallbackReceiver]:
    receiver = CallbackReceiver()
    yield receiver
    receiver.stop()


@pytest.fixture
def receiver_factory() -> Iterator[Callable[[], CallbackReceiver]]:
    """For tests that need more than one receiver (e.g. two accounts)."""
    made: list[CallbackReceiver] = []

    def make() -> CallbackReceiver:
        made.append(CallbackReceiver())
        return made[-1]

    yield make
    for receiver in made:
        receiver.stop()


class Portal:
    """A correct developer server for one account: checks signatures, decrypts, replies.

    `reply_text` None answers "success"; otherwise a passive text reply, encrypted when the
    push was. Decoded pushes land in `messages`, refused ones in `rejected`.
    """

    def __init__(self, account: dict, reply_text: str | None = None,
                 crypto_appid: str | None = None) -> None:
        self.token = account["token"]
        self.data_format = account.get("data_format", "xml")
        self.crypto = crypto.MessageCrypto(account["token"], account["encoding_aes_key"],
                                           crypto_appid or account["appid"])
        self.reply_text = reply_text
        self.messages: list[dict] = []
        self.rejected: list[str] = []

    def _load(self, raw: bytes | str) -> dict:
        return json.loads(raw) if self.data_format == "json" else parse_xml(raw)

    def _dump(self, data: dict) -> str:
        return json.dumps(data, ensure_ascii=False) if self.data_format == "json" else to_xml(data)

    def __call__(self, rec: Recorded) -> tuple[int, str]:
        q = rec.query
        try:
            crypto.check_url_signature(self.token, q["timestamp"], q["nonce"], q["signature"])
            envelope = self._load(rec.body)
            encrypted = q.get("encrypt_type") == "aes"
            if encrypted:
                inner = self.crypto.verify_and_decrypt(
                    msg_signature=q["msg_signature"], timestamp=q["timestamp"],
                    nonce=q["nonce"], encrypt=envelope["Encrypt"])
                message = self._load(inner)
            else:
                message = envelope
        except (crypto.CryptoError, KeyError, ValueError) as exc:
            self.rejected.append(repr(exc))
            return 403, "forbidden"
        self.messages.append(message)
        if self.reply_text is None or "FromUserName" not in message:
            return 200, "success"
        reply = self._dump({"ToUserName": message["FromUserName"],
                            "FromUserName": message["ToUserName"],
                            "CreateTime": int(time.time()), "MsgType": "text",
                            "Content": self.reply_text})
        if not encrypted:
            return 200, reply
        return 200, self._dump(self.crypto.encrypt_envelope(
            reply, timestamp=q["timestamp"], nonce=q["nonce"]))


@pytest.fixture
def portal_for() -> Callable[..., Portal]:
    """portal_for(account_dict, reply_text=None) -> a responder for a CallbackReceiver."""
    return Portal


@pytest.fixture
def kit(sandbox: SandboxServer) -> Any:
    from tests.wechat.sandbox_kit import Kit

    return Kit(sandbox)
