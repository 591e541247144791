"""Helpers for the third-party platform tests: the platform in both worlds, pushes, consent."""

from __future__ import annotations

import html
import secrets
import time
from typing import Any
from urllib.parse import urlencode

import requests

from accounts.models import PlatformApp
from wechat.sandbox.push import Target, render
from wechat.sandbox.server import SandboxServer


def random_key() -> str:
    alphabet = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
    return "".join(secrets.choice(alphabet) for _ in range(43))


def make_platform(sb: SandboxServer, *, auth_event_url: str = "") -> PlatformApp:
    """A platform row and its sandbox twin (fresh appid: no cached token can match it)."""
    platform = PlatformApp.objects.create(
        component_appid="wx" + secrets.token_hex(8),
        component_appsecret=secrets.token_hex(16),
        token=secrets.token_hex(8),
        encoding_aes_key=random_key(),
    )
    sb.control(
        "POST",
        "/components",
        {
            "component_appid": platform.component_appid,
            "component_appsecret": platform.component_appsecret,
            "token": platform.token,
            "encoding_aes_key": platform.encoding_aes_key,
            "auth_event_url": auth_event_url,
        },
    )
    return platform


def push_ticket(sb: SandboxServer, platform: PlatformApp) -> dict[str, Any]:
    return sb.control("POST", f"/components/{platform.component_appid}/ticket")


def signed_push(
    platform: PlatformApp, message: dict[str, Any], *, key: str | None = None,
    timestamp: int | None = None,
) -> tuple[str, bytes]:
    """The path with query and the body of a push, signed and encrypted as WeChat does."""
    target = Target(
        url="",
        token=platform.token,
        encoding_aes_key=key or platform.encoding_aes_key,
        crypto_appid=platform.component_appid,
        mode="safe",
        data_format="xml",
        envelope_key="AppId",
    )
    query, body, _ctype = render(
        target, message, timestamp=str(timestamp or int(time.time())), nonce="1234567890",
        openid=None,
    )
    return f"/wechat/platform/?{urlencode(query)}", body


def ticket_message(platform: PlatformApp, ticket: str) -> dict[str, Any]:
    return {
        "AppId": platform.component_appid,
        "CreateTime": int(time.time()),
        "InfoType": "component_verify_ticket",
        "ComponentVerifyTicket": ticket,
    }


def consent(consent_url: str, *, appid: str, func_ids: list[int]) -> str:
    """What the account's admin does on the consent page; returns the redirect target."""
    http = requests.Session()
    http.trust_env = False
    page = http.get(consent_url, timeout=10)
    assert page.status_code == 200, page.text
    assert f'value="{appid}"' in page.text
    fields = {}
    for name in ("component_appid", "pre_auth_code", "redirect_uri", "auth_type"):
        marker = f'name="{name}" value="'
        start = page.text.index(marker) + len(marker)
        fields[name] = html.unescape(page.text[start : page.text.index('"', start)])
    answer = http.post(
        consent_url.split("?")[0],
        data={**fields, "appid": appid, "func_ids": [str(i) for i in func_ids]},
        allow_redirects=False,
        timeout=30,
    )
    assert answer.status_code == 302, answer.text
    return answer.headers["Location"]


def connect_by_authorization(sb: SandboxServer, scope: Any) -> tuple[PlatformApp, Any]:
    """A new sandbox account authorized to the platform through the portal's own flow (a
    ticket pushed, consent, the code exchanged) for the brand of ``scope``: answers the
    platform and the connected account."""
    from accounts.platform import authorization_complete, authorization_start, platform_store_ticket

    platform = make_platform(sb)
    platform_store_ticket(platform=platform, ticket=push_ticket(sb, platform)["ticket"])
    appid = sb.control("POST", "/accounts", {})["appid"]
    pending, _url = authorization_start(
        scope=scope, platform=platform, redirect_uri="http://testserver/back",
        by=scope.membership.user,
    )
    auth_code = sb.control(
        "POST", f"/components/{platform.component_appid}/authorize",
        {"pre_auth_code": pending.pre_auth_code, "appid": appid, "func_ids": [1, 2]},
    )["auth_code"]
    return platform, authorization_complete(auth_code=auth_code, pending=pending)
