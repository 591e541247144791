"""Request/response types, the platform error shape and the route registry."""

from __future__ import annotations

import json
import re
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .clock import SandboxClock
    from .state import Account, SandboxState, Token

ERRMSG: dict[int, str] = {
    -1: "system error",
    0: "ok",
    40001: "invalid credential, access_token is invalid or not latest",
    40002: "invalid grant_type",
    40003: "invalid openid",
    40004: "invalid media type",
    40005: "invalid file type",
    40006: "invalid meida size",
    40007: "invalid media_id",
    40008: "invalid message type",
    40013: "invalid appid",
    40014: "invalid access_token",
    40016: "invalid button size",
    40017: "invalid button type",
    40018: "invalid button name size",
    40019: "invalid button key size",
    40020: "invalid button url size",
    40023: "invalid sub button size",
    40024: "invalid sub button type",
    40025: "invalid sub button name size",
    40026: "invalid sub button key size",
    40027: "invalid sub button url size",
    40032: "invalid openid list size",
    40033: "invalid charset. please check your request, if include \\uxxxx will create fail!",
    40036: "invalid template_id size",
    40037: "invalid template_id",
    40052: "invalid action name",
    40053: "invalid action info, please check document",
    40092: "invalid remark size",
    40125: "invalid appsecret",
    40164: "invalid ip, not in whitelist",
    41001: "access_token missing",
    41002: "appid missing",
    41004: "appsecret missing",
    42001: "access_token expired",
    42007: "access_token and refresh_token exception",
    43001: "require GET method",
    43002: "require POST method",
    43004: "require subscribe",
    43019: "require remove blacklist",
    44002: "empty post data",
    44003: "empty news data",
    44004: "empty content",
    45008: "article size out of limit",
    45009: "reach max api daily quota limit",
    45011: "api minute-quota reach limit  mustslower  retry next minute",
    45015: "response out of time limit or subscription is canceled",
    45028: "has no masssend quota",
    45047: "out of response count limit",
    45056: "too many tags now, no need to add new",
    45057: "can't delete the tag that has too many fans",
    45058: "can't modify sys tag",
    45059: "tag number exceeding the limit",
    45065: "clientmsgid exist",
    45066: "same clientmsgid retry too fast",
    45067: "clientmsgid size out of limit",
    45072: "command field content is invalid",
    45080: "no user interaction in 30 seconds",
    45081: "you are already typing",
    45083: "invalid speed",
    45084: "no speed",
    45157: "invalid tag name",
    45158: "tag name too long",
    45159: "invalid tag id",
    46003: "menu no exist",
    46004: "invalid user",
    47001: "data format error",
    48001: "api unauthorized",
    48002: "user block receive message",
    48004: "api forbidden for irregularities, view detail on mp.weixin.qq.com",
    48006: "forbid to clear quota because of reaching the limit",
    49003: "not match openid with appid",
    50002: "user limited",
    61003: "component is not authorized by this account",
    61004: "access clientip is not registered",
    61005: "component ticket is expired",
    61006: "component ticket is invalid",
    61007: "api is unauthorized to component",
    61009: "code is invalid",
    61023: "refresh_token is invalid",
    61500: "date format error",
    61501: "date range error",
    65301: "no such conditional menu",
    65302: "no such user",
    65303: "there is no selfmenu, please create selfmenu first",
    65304: "match rule empty",
    65316: "invalid url domain size",
    65320: "sex, country, province, city and language are not allowed",
    65400: "please enable new custom service, or wait for a while if you have enabled",
    65401: "invalid custom service account",
    65402: "the custom service account need to bind a wechat user",
    65403: "illegal nickname",
    65404: "illegal custom service account",
    65405: "custom service account number reach limit",
    65406: "custom service account exists",
    65407: "the wechat user have been one of your workers",
    65408: "this wechat account has an invitation to this custom service",
    65409: "wechat account invalid",
    65410: "too many custom service accounts bound by the worker",
    65411: "a invitation has already existed",
    65412: "the custom service account has already bound a wechat user",
    65413: "no effective session for this user",
    65414: "the user is in a session with another custom service account",
    65415: "the custom service account is offline",
    76021: "cgi_path not found, please check",
    89501: "this ip is waiting for administrator confirmation",
    89502: "this ip is not confirmed by the administrator",
    89503: "this call needs administrator confirmation",
    89506: "this ip was refused by the administrator twice within 24 hours",
    89507: "this ip was refused by the administrator within the last hour",
}


class ApiError(Exception):
    """A platform error answer: HTTP 200 with {"errcode", "errmsg"}."""

    def __init__(self, errcode: int, errmsg: str | None = None, **extra: Any) -> None:
        super().__init__(errcode)
        self.errcode = errcode
        self.errmsg = errmsg or ERRMSG.get(errcode, "error")
        self.extra = extra

    def body(self) -> dict:
        rid = secrets.token_hex(4) + "-" + secrets.token_hex(4)
        return {"errcode": self.errcode, "errmsg": f"{self.errmsg} rid: {rid}", **self.extra}


class ControlError(Exception):
    """A control-API error: a real HTTP status with {"error": ...}."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


# A \uXXXX escape of a non-ASCII character, not preceded by an escaping backslash.
_ESCAPED_NON_ASCII = re.compile(r"(?<!\\)(?:\\\\)*\\u(?!00[0-7])[0-9a-fA-F]{4}")


@dataclass
class Request:
    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: bytes = b""
    client_ip: str = ""  # the caller's address, for the IP allow-lists

    def json(self, *, required: bool = True) -> dict:
        if not self.body.strip():
            if required:
                raise ApiError(44002)
            return {}
        try:
            text = self.body.decode("utf-8")
            data = json.loads(text)
        except (UnicodeDecodeError, ValueError) as exc:
            raise ApiError(47001) from exc
        if not isinstance(data, dict):
            raise ApiError(47001)
        # The platform refuses bodies that escape non-ASCII text as \uXXXX.
        if _ESCAPED_NON_ASCII.search(text):
            raise ApiError(40033)
        return data


@dataclass
class Response:
    status: int = 200
    body: bytes = b""
    content_type: str = "application/json; encoding=utf-8"
    headers: dict[str, str] = field(default_factory=dict)
    # "close" or "reset": send nothing and end the connection (the drop_after fault).
    drop: str = ""

    @classmethod
    def json(cls, data: Any, status: int = 200) -> Response:
        return cls(status, json.dumps(data, ensure_ascii=False).encode("utf-8"))


@dataclass
class Ctx:
    """What a platform handler sees: the validated caller and the request."""

    state: SandboxState
    clock: SandboxClock
    req: Request
    now: float
    appid: str | None = None
    token: Token | None = None
    server: Any = None

    @property
    def account(self) -> Account:
        if self.appid is None or self.appid not in self.state.accounts:
            raise ApiError(40013)
        return self.state.accounts[self.appid]

    def body(self) -> dict:
        return self.req.json()


Handler = Callable[[Ctx], Any]


@dataclass
class Route:
    method: str
    path: str
    handler: Handler
    auth: str  # "token", "component" or "none"
    bundle: int | None


ROUTES: dict[str, Route] = {}


def api(path: str, *, method: str = "POST", auth: str = "token",
        bundle: int | None = None) -> Callable[[Handler], Handler]:
    """Register a platform endpoint. `bundle` is the funcscope id an authorizer needs."""

    def register(handler: Handler) -> Handler:
        ROUTES[path] = Route(method, path, handler, auth, bundle)
        return handler

    return register


def ok(**extra: Any) -> dict:
    return {"errcode": 0, "errmsg": "ok", **extra}
