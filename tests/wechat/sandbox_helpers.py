"""Small builders for client tests against the sandbox: accounts, followers, clients."""

from __future__ import annotations

from typing import Any

import requests

from wechat.client import WeChatClient
from wechat.sandbox.server import SandboxServer


class Sleeps(list):
    """An injectable sleep that records instead of waiting."""

    def __call__(self, seconds: float) -> None:
        self.append(seconds)


class ClockSleeps(list):
    """An injectable sleep that records and moves the sandbox's clock (through the control
    API) instead of waiting: the minute a client waits out passes at once, for the
    platform and for the client (whose clock is the sandbox's)."""

    def __init__(self, sb: SandboxServer) -> None:
        super().__init__()
        self.sb = sb

    def __call__(self, seconds: float) -> None:
        self.append(seconds)
        control(self.sb, "POST", "/clock", {"advance": seconds})


def control(sb: SandboxServer, method: str, path: str, body: Any = None) -> Any:
    """Call the control API over HTTP, as the portal's tests and the simulator do."""
    response = requests.request(method, f"{sb.base_url}/_sandbox{path}", json=body, timeout=30)
    assert response.status_code < 400, (method, path, response.status_code, response.text)
    return response.json()


def make_account(sb: SandboxServer, **fields: Any) -> dict[str, Any]:
    spec = {"kind": "service", "verified": True, **fields}
    return control(sb, "POST", "/accounts", spec)


def follow(sb: SandboxServer, appid: str, **body: Any) -> str:
    """A new person follows (no push unless asked); returns the openid."""
    return control(sb, "POST", f"/accounts/{appid}/followers", {"push": False, **body})["openid"]


def user_says(sb: SandboxServer, appid: str, openid: str, text: str = "你好") -> None:
    """The follower writes: this opens the 48-hour window with 5 sends."""
    control(
        sb,
        "POST",
        f"/accounts/{appid}/followers/{openid}/send",
        {"type": "text", "content": text, "push": False},
    )


def inbox(sb: SandboxServer, appid: str, openid: str) -> list[dict[str, Any]]:
    return control(sb, "GET", f"/accounts/{appid}/followers/{openid}/inbox")["messages"]


def calls(sb: SandboxServer, path: str, appid: str | None = None) -> list[dict[str, Any]]:
    query = f"?path={path}" + (f"&appid={appid}" if appid else "")
    return control(sb, "GET", f"/calls{query}")["calls"]


def fault(sb: SandboxServer, **spec: Any) -> None:
    control(sb, "POST", "/faults", spec)


def client_for(
    sb: SandboxServer, account: dict[str, Any], **kwargs: Any
) -> tuple[WeChatClient, Sleeps]:
    sleeps = Sleeps()
    options: dict[str, Any] = {
        "base_url": sb.base_url,
        "clock": sb.clock.now,
        "sleep": sleeps,
        "showqrcode_url": f"{sb.base_url}/cgi-bin/showqrcode",
        "timeout": (2, 5),
    }
    options.update(kwargs)
    return WeChatClient(account["appid"], account["secret"], **options), sleeps
