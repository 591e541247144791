"""Opening a platform push: authenticate, decrypt and parse it, or refuse it with a reason.

The checks, in order (docs/wechat.md §1.3-1.6):

- a body no larger than ``MAX_BODY_BYTES``, declared by Content-Length or sent chunked;
- ``signature``, ``timestamp`` and ``nonce`` present, the timestamp within ±300 s of our
  clock (the platform sets no such limit; it is our guard against replays);
- encrypted (``encrypt_type=aes``): ``msg_signature`` over token, timestamp, nonce and the
  ciphertext, then AES with the account's key, whose trailer must name the account's
  AppID. The current token and key are tried, and the previous ones during their grace
  period; a third-party platform connection uses the platform's token and key, and the
  trailer names the component AppID;
- plaintext: only when the account is not in safe mode, by ``signature`` (which covers
  no body: the reason safe mode exists);
- a parseable XML or JSON message, refusing DTDs, entities and other hostile constructs;
- addressed to this account: ``ToUserName`` is its original id (``gh_…``), in every mode
  (encrypted, the AppID in the trailer binds it too, but a platform connection's key
  decrypts the pushes of every account authorised to it). An account with no original id
  recorded yet learns it from its first encrypted push, which only the platform can make;
  a plaintext body is not covered by its signature, so it is accepted unchecked and
  teaches nothing;
- from an openid: ``FromUserName`` in the platform's alphabet and no longer than the
  column, refused rather than cut to fit.

URL verification (GET) checks the same signature and timestamp window.

Signatures are compared in constant time (``wechat.crypto``).
"""

from __future__ import annotations

import functools
import logging
import re
import time
from dataclasses import dataclass

from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver
from django.http import HttpRequest
from django.utils import timezone

from accounts.models import OfficialAccount, PlatformApp
from accounts.services import ORIGINAL_ID_RE
from followers.models import Follower
from wechat import crypto
from wechat import messages as wx
from wechat.xmlutil import MAX_BODY_BYTES

logger = logging.getLogger(__name__)

TIMESTAMP_WINDOW = 300
# Openids are base64url-like, 28 characters in every sample ("o9AgO5Kd5ggOC-bXrbNODIiE3bGY");
# the pattern allows any length up to the column's.
OPENID_MAX_LENGTH = Follower._meta.get_field("openid").max_length
OPENID_RE = re.compile(rf"[A-Za-z0-9_-]{{1,{OPENID_MAX_LENGTH}}}\Z")
# Accounts the callback saw lately, per process: every delivery needs the account and its
# decrypted secrets, which change rarely. Saving an account clears this process's copy;
# other processes pick a change up within ACCOUNT_CACHE_SECONDS (a rotated token stays
# valid for its grace period, and the platform retries a refused push).
ACCOUNT_CACHE_SECONDS = 5.0
_accounts: dict[str, tuple[float, OfficialAccount]] = {}


class PushRefused(Exception):
    """Not a push we accept: ``status`` for the answer, ``reason`` for it and the log."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


@dataclass(frozen=True)
class OpenedPush:
    message: wx.Inbound
    data_format: wx.DataFormat
    # The crypto that decrypted the push; the reply is encrypted with it. None: plaintext.
    crypto: crypto.MessageCrypto | None
    nonce: str


def callback_account(appid: str) -> OfficialAccount | None:
    """The active account ``appid`` names, or None. Unknown appids are not cached, so a
    stream of made-up ones cannot fill memory."""
    now = time.monotonic()
    hit = _accounts.get(appid)
    if hit is not None and hit[0] > now:
        return hit[1]
    # dangerously unscoped by nature: the platform, not a member, is calling.
    account = OfficialAccount.objects.filter(appid=appid, is_active=True).first()
    if account is not None:
        _accounts[appid] = (now + ACCOUNT_CACHE_SECONDS, account)
    return account


@receiver([post_save, post_delete], sender=OfficialAccount)
@receiver([post_save, post_delete], sender=PlatformApp)
def _forget_cached_accounts(**_kwargs: object) -> None:
    _accounts.clear()


def _tokens(account: OfficialAccount) -> list[str]:
    tokens = [account.token]
    grace = account.previous_secrets_valid_until
    if account.previous_token and grace and grace > timezone.now():
        tokens.append(account.previous_token)
    return [t for t in tokens if t]


def _keys(account: OfficialAccount) -> list[str]:
    keys = [account.encoding_aes_key]
    grace = account.previous_secrets_valid_until
    if account.previous_encoding_aes_key and grace and grace > timezone.now():
        keys.append(account.previous_encoding_aes_key)
    return [k for k in keys if k]


def _credentials(account: OfficialAccount) -> list[tuple[str, list[str], str]]:
    """(token, keys, AppID in the trailer) sets a push for ``account`` may be signed with."""
    sets = [(token, _keys(account), account.appid) for token in _tokens(account)]
    if account.connection == OfficialAccount.Connection.PLATFORM:
        platform = PlatformApp.objects.filter(is_active=True).order_by("pk").first()
        if platform is not None and platform.token:
            sets.append((platform.token, [platform.encoding_aes_key],
                         platform.component_appid))
    return sets


@functools.lru_cache(maxsize=1024)
def _box(token: str, key: str, appid: str) -> crypto.MessageCrypto:
    """One MessageCrypto per credentials, reused (its key schedule is prepared once); a
    rotated key simply makes a new entry."""
    return crypto.MessageCrypto(token, key, appid)


def push_body(request: HttpRequest) -> bytes:
    """The request's body, at most ``MAX_BODY_BYTES``, or PushRefused.

    A declared Content-Length that is too large is refused before anything is read. A
    chunked body has none: under WSGI the server de-chunks it (gunicorn does) and Django,
    seeing no length, reads it as empty. So it is read from ``wsgi.input`` directly, one
    byte past the limit, which tells a body that fits from one that does not without
    holding more. Without a length and without chunking there is no body (HTTP/1.1).
    """
    meta = request.META
    declared = meta.get("CONTENT_LENGTH")
    if declared or "chunked" not in meta.get("HTTP_TRANSFER_ENCODING", "").lower():
        check_body_size(declared)
        return request.body
    stream = meta.get("wsgi.input")
    try:
        # ASGI has no wsgi.input; its request already holds the whole body.
        body = (stream.read(MAX_BODY_BYTES + 1) if stream is not None
                else request.read(MAX_BODY_BYTES + 1))
    except Exception as exc:
        # The server de-chunks as we read, and raises its own errors on broken framing
        # (gunicorn's are not OSErrors): whichever it is, there is no body to open.
        raise PushRefused(400, "the chunked body could not be read") from exc
    check_body_size(None, body)
    return body


def check_body_size(content_length: str | None, body: bytes | None = None) -> None:
    try:
        declared = int(content_length or 0)
    except ValueError as exc:
        raise PushRefused(400, "bad Content-Length") from exc
    if declared > MAX_BODY_BYTES or (body is not None and len(body) > MAX_BODY_BYTES):
        raise PushRefused(413, f"body larger than {MAX_BODY_BYTES} bytes")


def _check_timestamp(timestamp: str, now: float) -> None:
    try:
        ts = int(timestamp)
    except ValueError as exc:
        raise PushRefused(400, "timestamp is not a number") from exc
    if abs(now - ts) > TIMESTAMP_WINDOW:
        raise PushRefused(403, "stale timestamp")


def _parse(body: bytes, data_format: wx.DataFormat) -> wx.Inbound:
    try:
        return wx.parse_message(body, data_format)
    except wx.BodyTooLarge as exc:
        raise PushRefused(413, "body too large") from exc
    except wx.HostileXml as exc:
        raise PushRefused(400, f"hostile XML: {exc}") from exc
    except (wx.XmlError, wx.InvalidMessage) as exc:
        raise PushRefused(400, f"malformed message: {exc}") from exc


def _open_encrypted(account: OfficialAccount, body: bytes, query: dict[str, str],
                    data_format: wx.DataFormat) -> tuple[bytes, crypto.MessageCrypto]:
    msg_signature = query.get("msg_signature", "")
    if not msg_signature:
        raise PushRefused(403, "msg_signature missing")
    try:
        envelope = wx.parse_envelope(body, data_format)
    except wx.BodyTooLarge as exc:
        raise PushRefused(413, "body too large") from exc
    except (wx.XmlError, wx.InvalidMessage) as exc:
        raise PushRefused(400, f"malformed envelope: {exc}") from exc
    timestamp, nonce = query["timestamp"], query["nonce"]
    for token, keys, appid in _credentials(account):
        try:
            crypto.check_msg_signature(token, timestamp, nonce, envelope.encrypt, msg_signature)
        except crypto.InvalidSignature:
            continue
        wrong_appid = False
        for key in keys:
            try:
                box = _box(token, key, appid)
                return box.decrypt(envelope.encrypt), box
            except crypto.InvalidAppId:
                wrong_appid = True
            except crypto.CryptoError:
                continue
        if wrong_appid:
            raise PushRefused(403, "AppID in the ciphertext is not this account's")
        raise PushRefused(400, "ciphertext does not decrypt with the account's key")
    raise PushRefused(403, "bad msg_signature")


def _check_signature(account: OfficialAccount, query: dict[str, str]) -> None:
    for token, *_rest in _credentials(account):
        try:
            crypto.check_url_signature(token, query["timestamp"], query["nonce"],
                                       query["signature"])
            return
        except crypto.InvalidSignature:
            continue
    raise PushRefused(403, "bad signature")


def url_verification_echo(*, account: OfficialAccount, query: dict[str, str],
                          now: float | None = None) -> str:
    """The ``echostr`` to answer a signed URL verification (protocol §1.2), or PushRefused.

    The same timestamp window as pushes: a verification URL captured once cannot be
    replayed later to probe which token an account uses.
    """
    if not all(query.get(k) for k in ("signature", "timestamp", "nonce", "echostr")):
        raise PushRefused(400, "missing signature parameters")
    _check_timestamp(query["timestamp"], time.time() if now is None else now)
    for token in _tokens(account):
        try:
            crypto.check_url_signature(token, query["timestamp"], query["nonce"],
                                       query["signature"])
        except crypto.InvalidSignature:
            continue
        return query["echostr"]
    raise PushRefused(403, "bad signature")


def _learn_original_id(account: OfficialAccount, to_user: str) -> None:
    if not ORIGINAL_ID_RE.match(to_user):
        return
    # Only where none is recorded: an admin's value always wins over what a push says.
    if OfficialAccount.objects.filter(pk=account.pk, original_id="").update(
        original_id=to_user
    ):
        account.original_id = to_user  # the cached copy, so the next push is checked
        logger.info("original id learned from an encrypted push",
                    extra={"account_id": account.pk, "original_id": to_user})


def _check_parties(account: OfficialAccount, message: wx.Inbound, *, encrypted: bool) -> None:
    """The push is addressed to ``account`` and comes from an openid (module docstring)."""
    if account.original_id:
        if message.to_user != account.original_id:
            raise PushRefused(403, "ToUserName is not this account's original id")
    elif encrypted:
        _learn_original_id(account, message.to_user)
    if not OPENID_RE.match(message.from_user):
        raise PushRefused(
            400, f"FromUserName is not an openid (letters, digits, - and _, at most "
                 f"{OPENID_MAX_LENGTH})"
        )


def push_open(*, account: OfficialAccount, query: dict[str, str], body: bytes,
              now: float | None = None) -> OpenedPush:
    """The authenticated, parsed push, or PushRefused."""
    check_body_size(None, body)
    if not all(query.get(k) for k in ("signature", "timestamp", "nonce")):
        raise PushRefused(400, "missing signature parameters")
    _check_timestamp(query["timestamp"], time.time() if now is None else now)
    data_format = wx.detect_format(body)
    encrypted = query.get("encrypt_type", "raw").lower() == "aes"
    if encrypted:
        plaintext, box = _open_encrypted(account, body, query, data_format)
        message = _parse(plaintext, data_format)
        _check_parties(account, message, encrypted=True)
        return OpenedPush(message=message, data_format=data_format, crypto=box,
                          nonce=query["nonce"])
    if account.message_mode == OfficialAccount.MessageMode.SAFE:
        raise PushRefused(403, "safe mode: msg_signature and encrypt_type=aes required")
    _check_signature(account, query)
    message = _parse(body, data_format)
    _check_parties(account, message, encrypted=False)
    return OpenedPush(message=message, data_format=data_format, crypto=None,
                      nonce=query["nonce"])
