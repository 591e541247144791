"""The callback pusher: deliver a message or event to a developer server as WeChat does.

Signing and encryption follow protocol §1.3-1.5; waiting, retries and the reading of
the answer follow §1.6. The same rendered request (same MsgId/CreateTime, same query)
is re-sent on every attempt so the receiver can dedupe.

XML is written and read here with xmltodict, not with the product's ``wechat.xmlutil``:
every end-to-end test then checks the portal's own reader against pushes it did not
write, and its writer against a reader it does not share (escaped text rather than CDATA,
``None`` for an empty element, a repeated element as a list).
"""

from __future__ import annotations

import json
import secrets
import time
from dataclasses import dataclass
from typing import Any
from xml.parsers.expat import ExpatError

import requests
import xmltodict

from wechat import crypto

from .state import Account, Component, SandboxState

USER_NOTICE = "该公众号暂时无法提供服务，请稍后再试"
REPLY_TYPES = ("text", "image", "voice", "video", "music", "news", "transfer_customer_service")
DEFAULT_TIMEOUT = 5.0
DEFAULT_ATTEMPTS = 3


@dataclass
class Target:
    """Where and how one push goes."""

    url: str
    token: str
    encoding_aes_key: str
    crypto_appid: str  # the id in the plaintext trailer: the account's, or the component's
    mode: str  # plain / compatible / safe
    data_format: str  # xml / json
    envelope_key: str = "ToUserName"  # component pushes carry AppId instead


def account_target(state: SandboxState, account: Account) -> Target | None:
    """Pushes of an account authorised to a platform with a message URL go there."""
    for component in state.components.values():
        if account.appid in component.authorizations and component.message_url:
            return Target(url=component.message_url.replace("$APPID$", account.appid),
                          token=component.token, encoding_aes_key=component.encoding_aes_key,
                          crypto_appid=component.component_appid, mode="safe",
                          data_format="xml")
    if not account.callback_url:
        return None
    return Target(url=account.callback_url, token=account.token,
                  encoding_aes_key=account.encoding_aes_key, crypto_appid=account.appid,
                  mode=account.message_mode, data_format=account.data_format)


def component_target(component: Component) -> Target | None:
    if not component.auth_event_url:
        return None
    return Target(url=component.auth_event_url, token=component.token,
                  encoding_aes_key=component.encoding_aes_key,
                  crypto_appid=component.component_appid, mode="safe", data_format="xml",
                  envelope_key="AppId")


def _xmltodict_shape(value: Any) -> Any:
    """A push's fields as xmltodict writes them: a list is the platform's ``<item>`` run
    (``<PicList><item>…</item></PicList>``), ``None`` is left out."""
    if isinstance(value, dict):
        return {k: _xmltodict_shape(v) for k, v in value.items() if v is not None}
    if isinstance(value, list | tuple):
        return {"item": [_xmltodict_shape(v) for v in value]}
    return value


def render_xml(data: dict) -> str:
    """``<xml>…</xml>`` without a prolog, as the platform sends it."""
    return xmltodict.unparse({"xml": _xmltodict_shape(data)}, full_document=False)


def _without_layout(value: Any) -> Any:
    # Text is read unstripped (a reply's Content keeps its spaces), so the whitespace
    # between elements shows up as "#text"; it means nothing.
    if isinstance(value, dict):
        return {k: _without_layout(v) for k, v in value.items()
                if not (k == "#text" and isinstance(v, str) and not v.strip())}
    if isinstance(value, list):
        return [_without_layout(v) for v in value]
    return value


def read_xml(text: str) -> dict:
    """The fields of an ``<xml>`` document; ValueError for anything else (entities
    and DTDs included: xmltodict refuses them)."""
    try:
        doc = xmltodict.parse(text, strip_whitespace=False)
    except ExpatError as exc:
        raise ValueError(str(exc)) from exc
    if not isinstance(doc, dict) or list(doc) != ["xml"]:
        raise ValueError("the root element is not <xml>")
    body = _without_layout(doc["xml"])
    if not isinstance(body, dict):
        raise ValueError("<xml> holds no fields")
    return body


def _serialize(data: dict, data_format: str) -> str:
    if data_format == "json":
        return json.dumps(data, ensure_ascii=False)
    return render_xml(data)


def render(target: Target, message: dict, *, timestamp: str, nonce: str,
           openid: str | None) -> tuple[dict[str, str], bytes, str]:
    """The query, body and content type of the push request."""
    query = {"signature": crypto.url_signature(target.token, timestamp, nonce),
             "timestamp": timestamp, "nonce": nonce}
    if openid:
        query["openid"] = openid
    plaintext = _serialize(message, target.data_format)
    if target.mode == "plain":
        body = plaintext
    else:
        mc = crypto.MessageCrypto(target.token, target.encoding_aes_key, target.crypto_appid)
        encrypt = mc.encrypt(plaintext)
        query["encrypt_type"] = "aes"
        query["msg_signature"] = crypto.msg_signature(target.token, timestamp, nonce, encrypt)
        if target.mode == "compatible":
            body = _serialize({**message, "Encrypt": encrypt}, target.data_format)
        else:
            envelope = {target.envelope_key: message.get(target.envelope_key, ""),
                        "Encrypt": encrypt}
            body = _serialize(envelope, target.data_format)
    ctype = "application/json" if target.data_format == "json" else "text/xml"
    return query, body.encode("utf-8"), ctype


class InvalidReply(Exception):
    pass


def _parse(text: str, data_format: str) -> dict:
    try:
        data = json.loads(text) if data_format == "json" else read_xml(text)
    except ValueError as exc:
        raise InvalidReply(f"reply is not {data_format.upper()}: {exc}") from exc
    if not isinstance(data, dict):
        raise InvalidReply("reply is not an object")
    return data


def interpret_reply(target: Target, text: str, message: dict) -> dict | None:
    """The passive reply in a 2xx answer, None for `success`/empty; InvalidReply otherwise."""
    if text.strip() in ("", "success"):
        return None
    data = _parse(text, target.data_format)
    if "Encrypt" in data:
        if target.mode == "plain":
            raise InvalidReply("encrypted reply on a plaintext account")
        try:
            crypto.check_msg_signature(target.token, str(data.get("TimeStamp", "")),
                                       str(data.get("Nonce", "")), str(data["Encrypt"]),
                                       str(data.get("MsgSignature", "")))
            mc = crypto.MessageCrypto(target.token, target.encoding_aes_key,
                                      target.crypto_appid)
            inner = mc.decrypt(str(data["Encrypt"])).decode("utf-8")
        except (crypto.CryptoError, UnicodeDecodeError) as exc:
            raise InvalidReply(f"encrypted reply rejected: {exc!r}") from exc
        data = _parse(inner, target.data_format)
    elif target.mode == "safe":
        raise InvalidReply("plaintext reply on a safe-mode account")
    _check_reply(data, message)
    return data


def _check_reply(reply: dict, message: dict) -> None:
    msgtype = reply.get("MsgType")
    if msgtype not in REPLY_TYPES:
        raise InvalidReply(f"MsgType {msgtype!r} cannot be a passive reply")
    if reply.get("ToUserName") != message.get("FromUserName"):
        raise InvalidReply("ToUserName is not the sender's openid")
    if reply.get("FromUserName") != message.get("ToUserName"):
        raise InvalidReply("FromUserName is not the account's original id")
    needs = {"text": ("Content",), "image": ("Image",), "voice": ("Voice",), "video": ("Video",),
             "music": ("Music",), "news": ("ArticleCount", "Articles")}
    for key in needs.get(msgtype, ()):
        if reply.get(key) in (None, ""):
            raise InvalidReply(f"{msgtype} reply without {key}")


def inbox_entry(reply: dict, now: float) -> dict | None:
    """The passive reply as the follower sees it (same shape as kf messages)."""
    msgtype = reply["MsgType"]
    if msgtype == "transfer_customer_service":
        return None

    def sub(key: str) -> dict:
        value = reply.get(key)
        return value if isinstance(value, dict) else {}

    if msgtype == "text":
        payload: dict[str, Any] = {"content": reply["Content"]}
    elif msgtype in ("image", "voice"):
        payload = {"media_id": sub(msgtype.capitalize()).get("MediaId")}
    elif msgtype == "video":
        video = sub("Video")
        payload = {"media_id": video.get("MediaId"), "title": video.get("Title"),
                   "description": video.get("Description")}
    elif msgtype == "music":
        music = sub("Music")
        payload = {"title": music.get("Title"), "description": music.get("Description"),
                   "musicurl": music.get("MusicUrl"), "hqmusicurl": music.get("HQMusicUrl"),
                   "thumb_media_id": music.get("ThumbMediaId")}
    else:
        articles = reply.get("Articles")
        items = articles.get("item", articles) if isinstance(articles, dict) else articles
        items = items if isinstance(items, list) else [items]
        # Only the first article of a news reply is delivered.
        payload = {"articles": [
            {"title": a.get("Title"), "description": a.get("Description"),
             "url": a.get("Url"), "picurl": a.get("PicUrl")}
            for a in items[:1] if isinstance(a, dict)]}
    return {"via": "passive", "msgtype": msgtype, msgtype: payload, "at": now}


def _post_once(url: str, query: dict[str, str], body: bytes, ctype: str,
               timeout: float) -> requests.Response:
    """One attempt on a fresh connection: a pooled one the receiver already closed would
    turn a retry into a spurious failure."""
    with requests.Session() as session:
        session.trust_env = False  # the platform does not go through the developer's proxy
        return session.post(url, params=query, data=body, timeout=timeout,
                            headers={"Content-Type": ctype, "User-Agent": "Mozilla/4.0",
                                     "Connection": "close"},
                            allow_redirects=False)


def send(target: Target, message: dict, *, openid: str | None, timeout: float = DEFAULT_TIMEOUT,
         attempts: int = DEFAULT_ATTEMPTS, now: float | None = None) -> dict:
    """Push once, re-sending the identical request on timeout, refusal or non-2xx.

    Returns the PushResult of the contract, plus `detail` (why a reply was refused) and
    `user_notice` (what the follower's client shows, when it shows the error).
    """
    timestamp = str(int(now if now is not None else time.time()))
    nonce = str(secrets.randbelow(9_000_000_000) + 1_000_000_000)
    query, body, ctype = render(target, message, timestamp=timestamp, nonce=nonce,
                                openid=openid)
    result: dict[str, Any] = {"status": None, "body": "", "attempts": 0, "elapsed_ms": 0,
                              "reply": None, "error": None}
    started = time.monotonic()
    for _ in range(max(1, attempts)):
        result["attempts"] += 1
        try:
            resp = _post_once(target.url, query, body, ctype, timeout)
        except requests.Timeout:
            result.update(status=None, body="", error=f"timeout after {timeout:g} s")
            continue
        except requests.RequestException as exc:
            failure = f"connection failed: {exc.__class__.__name__}"
            result.update(status=None, body="", error=failure)
            continue
        result["status"], result["body"] = resp.status_code, resp.text
        if not 200 <= resp.status_code < 300:
            result["error"] = f"HTTP {resp.status_code}"
            continue
        result["error"] = None
        try:
            result["reply"] = interpret_reply(target, resp.text, message)
        except InvalidReply as exc:
            result.update(error=USER_NOTICE, detail=str(exc), user_notice=USER_NOTICE)
        break
    else:
        result["user_notice"] = USER_NOTICE
    result["elapsed_ms"] = int((time.monotonic() - started) * 1000)
    return result


def no_target_result() -> dict:
    return {"status": None, "body": "", "attempts": 0, "elapsed_ms": 0, "reply": None,
            "error": "no callback_url configured"}


# Pushes whose failure the follower sees in the chat (system events are invisible).
_SILENT_EVENTS = ("MASSSENDJOBFINISH", "TEMPLATESENDJOBFINISH", "LOCATION", "unsubscribe")


def deliver(server: Any, appid: str, message: dict, *, openid: str | None = None) -> dict:
    """Push `message` for account `appid` and apply the outcome to the follower's inbox.

    Holds the state lock only to read the target and to record the outcome, so the
    receiving server may call the sandbox's APIs while it handles the push.
    """
    state: SandboxState = server.state
    with state.lock:
        account = state.accounts[appid]
        target = account_target(state, account)
        timeout = float(state.settings.get("push_timeout", DEFAULT_TIMEOUT))
        attempts = int(state.settings.get("push_attempts", DEFAULT_ATTEMPTS))
    if target is None:
        result = no_target_result()
    else:
        result = send(target, message, openid=openid, timeout=timeout, attempts=attempts,
                      now=server.clock.now())
    with state.lock:
        now = server.clock.now()
        follower = state.followers.get(openid or "")
        visible = message.get("Event") not in _SILENT_EVENTS
        if follower is not None and follower.appid == appid:
            if result.get("reply"):
                entry = inbox_entry(result["reply"], now)
                if entry is not None:
                    follower.inbox.append(entry)
            elif result.get("user_notice") and target is not None and visible:
                follower.inbox.append({"via": "platform", "msgtype": "error",
                                       "content": USER_NOTICE, "at": now})
        _log(state, appid, target, message, result, now)
        state.version += 1
    return result


def deliver_component(server: Any, component_appid: str, message: dict) -> dict:
    state: SandboxState = server.state
    with state.lock:
        target = component_target(state.components[component_appid])
        timeout = float(state.settings.get("push_timeout", DEFAULT_TIMEOUT))
        attempts = int(state.settings.get("push_attempts", DEFAULT_ATTEMPTS))
    if target is None:
        result = no_target_result()
    else:
        result = send(target, message, openid=None, timeout=timeout, attempts=attempts,
                      now=server.clock.now())
    with state.lock:
        _log(state, component_appid, target, message, result, server.clock.now())
    return result


def _log(state: SandboxState, appid: str, target: Target | None, message: dict, result: dict,
         now: float) -> None:
    state.pushes.append({
        "at": now, "appid": appid, "url": target.url if target else None,
        "kind": message.get("Event") or message.get("InfoType") or message.get("MsgType"),
        "attempts": result["attempts"], "status": result["status"],
        "elapsed_ms": result["elapsed_ms"], "error": result["error"],
        "ok": target is not None and result["error"] is None,
    })
