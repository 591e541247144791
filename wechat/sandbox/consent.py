"""The consent page (§3.3, ``componentloginpage``) where an account admin authorises a platform.

GET shows a small HTML form: the sandbox's accounts as radio buttons and the permission
bundles as checkboxes. POST authorises exactly like the control API's
``/_sandbox/components/{id}/authorize`` (so the platform gets its ``authorized`` push) and
then sends the browser back to ``redirect_uri`` with ``auth_code`` and ``expires_in``.

Served outside the per-call pipeline: the ``authorized`` push reaches the portal while
this request is still open, and the portal calls ``api_query_auth`` right then, so the
page must not hold the state lock the pipeline takes around a handler.
"""

from __future__ import annotations

import html
from collections.abc import Callable
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit, urlunsplit

from . import api_component
from .web import ControlError, Request, Response

CONSENT_PATH = "/cgi-bin/componentloginpage"
# (id, name) of the bundles an official account can grant (protocol §3.3 table).
BUNDLES = [
    (1, "Message management"),
    (2, "User management"),
    (3, "Account service"),
    (4, "Web (H5) service"),
    (6, "Multi-customer-service"),
    (7, "Broadcast & notification"),
    (11, "Media assets"),
    (15, "Custom menu"),
]
PRECHECKED = frozenset({1, 2, 3, 6, 7, 15})

Page = Callable[[Any, Request], Response]


# The portal's own stylesheet, inlined so the page looks like the rest of the product while
# the sandbox stays free of the portal's settings and URLs. Missing (the package used on
# its own), the page is plain but works the same.
PORTAL_STYLESHEET = Path(__file__).resolve().parents[2] / "static" / "css" / "portal.css"
STAND_IN = (
    "This page stands in for WeChat's authorization page: the sandbox shows it instead of "
    "mp.weixin.qq.com. On the real platform the account's administrator confirms with the "
    "WeChat app and sees WeChat's own page."
)
STAND_IN_ZH = "本页是沙盒模拟的微信授权页面；真实环境中，公众号管理员在微信的授权页面上确认授权。"


@cache
def _stylesheet() -> str:
    try:
        return PORTAL_STYLESHEET.read_text(encoding="utf-8")
    except OSError:
        return ""


def _html(status: int, title: str, body: str) -> Response:
    # Escaped so that no "</" in the stylesheet could end the style element early.
    css = _stylesheet().replace("</", "<\\/")
    page = (
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{html.escape(title)} · WeChat sandbox</title><style>{css}</style></head><body>"
        '<header class="topbar"><span class="logo">WeChat sandbox</span>'
        '<span class="topright muted">Authorization page stand-in</span></header>'
        '<main class="page">'
        '<div class="standin" role="note" data-testid="stand-in">'
        f'<p>{html.escape(STAND_IN, quote=False)}</p>'
        f'<p lang="zh-Hans">{html.escape(STAND_IN_ZH)}</p></div>'
        f"<h1>{html.escape(title)}</h1>{body}</main></body></html>"
    )
    return Response(status, page.encode("utf-8"), "text/html; charset=utf-8")


def _error(status: int, message: str) -> Response:
    return _html(status, "Authorization failed",
                 f'<p class="notice" role="alert">{html.escape(message)}</p>')


def _check_request(sb: Any, component_appid: str, pre_auth_code: str, redirect_uri: str) -> str:
    """The component's appid when the code is live and the redirect is a web URL."""
    with sb.state.lock:
        component = sb.state.components.get(component_appid)
        if component is None:
            raise ControlError(400, "Unknown component_appid.")
        pre = component.preauth_codes.get(pre_auth_code)
        if pre is None or pre["used"] or sb.clock.now() >= pre["expires_at"]:
            raise ControlError(400, "The pre_auth_code is unknown, used or expired.")
    if urlsplit(redirect_uri).scheme not in ("http", "https"):
        raise ControlError(400, "redirect_uri must be an http(s) URL.")
    return component_appid


def _form(sb: Any, query: dict[str, str]) -> Response:
    with sb.state.lock:
        component = sb.state.components[query["component_appid"]]
        accounts = sorted(sb.state.accounts.values(), key=lambda a: (a.name, a.appid))
        authorised = set(component.authorizations)
    hidden = "".join(
        f'<input type="hidden" name="{key}" value="{html.escape(query.get(key, ""))}">'
        for key in ("component_appid", "pre_auth_code", "redirect_uri", "auth_type")
    )
    rows = []
    for index, account in enumerate(accounts):
        note = " (already authorised: re-authorise)" if account.appid in authorised else ""
        checked = " checked" if index == 0 else ""
        rows.append(
            f'<li><label><input type="radio" name="appid" value="{html.escape(account.appid)}"'
            f"{checked}> {html.escape(account.name or account.appid)} "
            f"<code>{html.escape(account.appid)}</code> {html.escape(account.kind)}"
            f"{html.escape(note)}</label></li>"
        )
    bundles = "".join(
        f'<li><label><input type="checkbox" name="func_ids" value="{bundle_id}"'
        f"{' checked' if bundle_id in PRECHECKED else ''}> {bundle_id} "
        f"{html.escape(name)}</label></li>"
        for bundle_id, name in BUNDLES
    )
    if not rows:
        return _error(400, "The sandbox has no official accounts to authorise.")
    body = (
        f"<p>Platform <code>{html.escape(query['component_appid'])}</code> asks to manage an "
        "official account.</p>"
        f'<form method="post" action="{CONSENT_PATH}" class="form">{hidden}'
        f'<fieldset class="field"><legend>Account</legend><ul>{"".join(rows)}</ul></fieldset>'
        f'<fieldset class="field"><legend>Permissions</legend><ul>{bundles}</ul></fieldset>'
        '<button type="submit" class="button">Authorize</button></form>'
    )
    return _html(200, "Authorize a third-party platform", body)


def _redirect_to(redirect_uri: str, auth_code: str, expires_in: int) -> str:
    parts = urlsplit(redirect_uri)
    extra = urlencode({"auth_code": auth_code, "expires_in": expires_in})
    query = f"{parts.query}&{extra}" if parts.query else extra
    return urlunsplit((parts.scheme, parts.netloc, parts.path, query, parts.fragment))


def consent_page(sb: Any, req: Request) -> Response:
    if req.method == "GET":
        query = req.query
    elif req.method == "POST":
        form = parse_qs(req.body.decode("utf-8", "replace"), keep_blank_values=True)
        query = {key: values[-1] for key, values in form.items()}
    else:
        return _error(405, "Use GET or POST.")
    try:
        component_appid = _check_request(
            sb,
            query.get("component_appid", ""),
            query.get("pre_auth_code", ""),
            query.get("redirect_uri", ""),
        )
        if req.method == "GET":
            return _form(sb, query)
        func_ids = [int(i) for i in form.get("func_ids", []) if i.isdigit()]
        if not func_ids:
            raise ControlError(400, "Choose at least one permission.")
        granted = api_component.authorize(
            sb,
            component_appid,
            {
                "pre_auth_code": query["pre_auth_code"],
                "appid": query.get("appid", ""),
                "func_ids": func_ids,
            },
        )
    except ControlError as exc:
        return _error(exc.status, exc.message)
    location = _redirect_to(
        query["redirect_uri"], granted["auth_code"], api_component.AUTH_CODE_TTL
    )
    return Response(302, b"", "text/plain", headers={"Location": location})


PAGES: dict[str, Page] = {CONSENT_PATH: consent_page}
