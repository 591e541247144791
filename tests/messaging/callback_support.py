"""Helpers for the callback and ingestion tests: a portal account mirrored in the sandbox,
and pushes signed exactly as the sandbox (and WeChat) signs them."""

from __future__ import annotations

import secrets
import time
from typing import Any

from accounts.models import OfficialAccount
from followers.models import Customer, Follower, FollowEvent
from messaging.models import Conversation, Inbound, Message
from tests.factories import make_account
from wechat.sandbox import push as sandbox_push
from wechat.sandbox.server import SandboxServer

CALLBACK = "/wechat/{appid}/callback/"


def mirror(sandbox: SandboxServer, account: OfficialAccount, *, url: str | None = None,
           mode: str = "safe", data_format: str = "xml") -> dict:
    """The portal's account, created in the sandbox with the same ids and secrets."""
    return sandbox.control("POST", "/accounts", {
        "appid": account.appid, "secret": account.app_secret,
        "original_id": account.original_id, "name": account.name,
        "token": account.token, "encoding_aes_key": account.encoding_aes_key,
        "message_mode": mode, "data_format": data_format, "callback_url": url or "",
    })


def connected_account(sandbox: SandboxServer, live_server: Any, *, brand: Any,
                      mode: str = "safe", data_format: str = "xml",
                      **fields: Any) -> OfficialAccount:
    """A portal account whose sandbox twin pushes to the live server's callback URL."""
    account = make_account(brand=brand, message_mode=mode, **fields)
    mirror(sandbox, account, mode=mode, data_format=data_format)
    sandbox.control("PATCH", f"/accounts/{account.appid}",
                    {"callback_url": live_server.url + CALLBACK.format(appid=account.appid)})
    return account


def follow(sandbox: SandboxServer, account: OfficialAccount, **body: Any) -> dict:
    return sandbox.control("POST", f"/accounts/{account.appid}/followers", body)


def say(sandbox: SandboxServer, account: OfficialAccount, openid: str, content: str = "hi",
        **body: Any) -> dict:
    return sandbox.control("POST", f"/accounts/{account.appid}/followers/{openid}/send",
                           {"type": "text", "content": content, **body})


def signed(account: OfficialAccount, message: dict, *, mode: str = "safe",
           data_format: str = "xml", timestamp: int | None = None, token: str | None = None,
           key: str | None = None, crypto_appid: str | None = None
           ) -> tuple[dict[str, str], bytes]:
    """(query, body) of a push for ``account`` rendered by the sandbox's own pusher."""
    target = sandbox_push.Target(
        url="", token=token or account.token,
        encoding_aes_key=key or account.encoding_aes_key,
        crypto_appid=crypto_appid or account.appid, mode=mode, data_format=data_format,
    )
    ts = str(int(time.time()) if timestamp is None else timestamp)
    nonce = str(secrets.randbelow(9_000_000_000) + 1_000_000_000)
    query, body, _ctype = sandbox_push.render(target, message, timestamp=ts, nonce=nonce,
                                              openid=message.get("FromUserName"))
    return query, body


def text_message(account: OfficialAccount, *, openid: str = "oFollower_1",
                 content: str = "hello", msg_id: int | None = None,
                 create_time: int | None = None) -> dict:
    return {
        "ToUserName": account.original_id, "FromUserName": openid,
        "CreateTime": int(time.time()) if create_time is None else create_time,
        "MsgType": "text", "Content": content,
        "MsgId": msg_id if msg_id is not None else secrets.randbelow(10**18),
    }


def event_message(account: OfficialAccount, event: str, *, openid: str = "oFollower_1",
                  create_time: int | None = None, **fields: Any) -> dict:
    return {
        "ToUserName": account.original_id, "FromUserName": openid,
        "CreateTime": int(time.time()) if create_time is None else create_time,
        "MsgType": "event", "Event": event, **fields,
    }


def post(client: Any, account_or_appid: OfficialAccount | str, query: dict, body: bytes,
         **extra: Any) -> Any:
    appid = getattr(account_or_appid, "appid", account_or_appid)
    path = CALLBACK.format(appid=appid)
    qs = "&".join(f"{k}={v}" for k, v in query.items())
    return client.post(f"{path}?{qs}", data=body, content_type="text/xml", **extra)


def counts() -> dict[str, int]:
    """Row counts of everything ingestion writes."""
    return {
        "inbound": Inbound.objects.count(),
        "followers": Follower.objects.count(),
        "customers": Customer.objects.count(),
        "conversations": Conversation.objects.count(),
        "messages": Message.objects.count(),
        "follow_events": FollowEvent.objects.count(),
    }

