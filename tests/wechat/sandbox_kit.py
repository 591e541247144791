"""A thin HTTP client for the sandbox, used by the sandbox's own tests."""

from __future__ import annotations

import json
from typing import Any

import requests

from wechat.sandbox.server import SandboxServer


class Kit:
    def __init__(self, sb: SandboxServer) -> None:
        self.sb = sb
        self.base = sb.base_url
        self.http = requests.Session()
        self.http.trust_env = False  # no proxy/netrc lookups: 3x faster on loopback

    # -- control API --------------------------------------------------------------------

    def ctl(self, method: str, route: str, body: Any = None, *, status: int = 200,
            **params: Any) -> Any:
        resp = self.http.request(method, f"{self.base}/_sandbox{route}", params=params or None,
                                 json=body, timeout=30)
        assert resp.status_code == status, resp.text
        return resp.json()

    def account(self, **spec: Any) -> dict:
        return self.ctl("POST", "/accounts", spec)

    def follow(self, appid: str, **body: Any) -> dict:
        body.setdefault("push", False)
        return self.ctl("POST", f"/accounts/{appid}/followers", body)

    def say(self, appid: str, openid: str, content: str = "hi", **body: Any) -> dict:
        body.setdefault("push", False)
        return self.ctl("POST", f"/accounts/{appid}/followers/{openid}/send",
                        {"type": "text", "content": content, **body})

    def inbox(self, appid: str, openid: str) -> list[dict]:
        return self.ctl("GET", f"/accounts/{appid}/followers/{openid}/inbox")["messages"]

    def freeze(self) -> float:
        """Stop the sandbox clock so exact-second assertions hold."""
        return self.ctl("POST", "/clock", {"freeze": True})["now"]

    def advance(self, seconds: float) -> float:
        return self.ctl("POST", "/clock", {"advance": seconds})["now"]

    # -- platform API -------------------------------------------------------------------

    def token(self, account: dict) -> str:
        answer = self.get("/cgi-bin/token", grant_type="client_credential",
                          appid=account["appid"], secret=account["secret"])
        return answer["access_token"]

    def get(self, path: str, token: str | None = None, **params: Any) -> dict:
        if token is not None:
            params["access_token"] = token
        return self.http.get(self.base + path, params=params, timeout=30).json()

    def post(self, path: str, token: str | None, body: Any, **params: Any) -> dict:
        if token is not None:
            params["access_token"] = token
        data = json.dumps(body, ensure_ascii=False).encode("utf-8")
        return self.http.post(self.base + path, params=params, data=data, timeout=30).json()


def errcode(answer: dict) -> int:
    return int(answer.get("errcode", 0))
