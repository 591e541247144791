"""Third-party platform (§3.3): component token, pre-auth codes, authorisation, pushes."""

from __future__ import annotations

import secrets
from typing import Any

from .api_token import issue_token, token_ttl
from .ipcheck import check_component_ip
from .push import deliver_component
from .state import Component, SandboxState, random_alnum
from .web import ApiError, ControlError, Ctx, api

TICKET_TTL = 12 * 3600
PREAUTH_TTL = 1800
AUTH_CODE_TTL = 3600
DEFAULT_FUNC_IDS = [1, 2, 3, 6, 7, 11, 15]
SERVICE_TYPE = {"subscription": 0, "service": 2}


def create_component(state: SandboxState, spec: dict) -> dict:
    appid = spec.get("component_appid") or "wx" + secrets.token_hex(8)
    if appid in state.components:
        raise ControlError(409, "component exists")
    key = spec.get("encoding_aes_key") or random_alnum(43)
    if len(key) != 43 or not key.isalnum():
        raise ControlError(400, "encoding_aes_key must be 43 letters or digits")
    component = Component(
        component_appid=appid,
        component_appsecret=spec.get("component_appsecret") or secrets.token_hex(16),
        token=spec.get("token") or random_alnum(32),
        encoding_aes_key=key,
        auth_event_url=spec.get("auth_event_url", ""),
        message_url=spec.get("message_url", ""),
    )
    update_component(component, spec)
    state.components[appid] = component
    return component_view(component)


def update_component(component: Component, spec: dict) -> Component:
    """The platform's settings on open.weixin.qq.com: its IP allow-list and the permission
    bundles it holds (``func_ids``; null for all)."""
    if "ip_whitelist" in spec:
        ips = spec["ip_whitelist"]
        if not isinstance(ips, list) or not all(isinstance(i, str) for i in ips):
            raise ControlError(400, "ip_whitelist must be a list of IP addresses")
        component.ip_whitelist = list(ips)
    if "func_ids" in spec:
        ids = spec["func_ids"]
        if ids is not None and (not isinstance(ids, list) or not all(
                isinstance(i, int) and not isinstance(i, bool) for i in ids)):
            raise ControlError(400, "func_ids must be a list of bundle ids or null")
        component.func_ids = None if ids is None else list(ids)
    return component


def component_view(component: Component) -> dict:
    return {
        "component_appid": component.component_appid,
        "component_appsecret": component.component_appsecret,
        "token": component.token,
        "encoding_aes_key": component.encoding_aes_key,
        "auth_event_url": component.auth_event_url,
        "message_url": component.message_url,
        "latest_ticket": component.latest_ticket,
        "authorizations": component.authorizations,
        "ip_whitelist": component.ip_whitelist,
        "func_ids": component.func_ids,
    }


def control_component(state: SandboxState, component_appid: str) -> Component:
    component = state.components.get(component_appid)
    if component is None:
        raise ControlError(404, "no such component")
    return component


def push_ticket(sb: Any, component_appid: str) -> dict:
    with sb.state.lock:
        component = control_component(sb.state, component_appid)
        now = sb.clock.now()
        ticket = "ticket@@@" + secrets.token_urlsafe(60)
        component.tickets[ticket] = now
        component.latest_ticket = ticket
        message = {"AppId": component_appid, "CreateTime": int(now),
                   "InfoType": "component_verify_ticket", "ComponentVerifyTicket": ticket}
    return {"ticket": ticket, "push": deliver_component(sb, component_appid, message)}


def authorize(sb: Any, component_appid: str, body: dict) -> dict:
    state = sb.state
    with state.lock:
        component = control_component(state, component_appid)
        now = sb.clock.now()
        code = body.get("pre_auth_code", "")
        pre = component.preauth_codes.get(code)
        if pre is None or pre["used"] or now >= pre["expires_at"]:
            raise ControlError(400, "pre_auth_code is unknown, used or expired")
        appid = body.get("appid", "")
        if appid not in state.accounts:
            raise ControlError(404, "no such account")
        func_ids = [int(i) for i in body.get("func_ids") or DEFAULT_FUNC_IDS]
        pre["used"] = True
        auth_code = "queryauthcode@@@" + secrets.token_urlsafe(60)
        component.auth_codes[auth_code] = {"appid": appid, "func_ids": func_ids,
                                           "expires_at": now + AUTH_CODE_TTL, "used": False}
        info_type = "updateauthorized" if appid in component.authorizations else "authorized"
        # Re-authorising issues a new refresh token.
        component.authorizations[appid] = {
            "func_ids": func_ids, "refresh_token": "refreshtoken@@@" + secrets.token_urlsafe(40),
            "auth_time": int(now)}
        message = {"AppId": component_appid, "CreateTime": int(now), "InfoType": info_type,
                   "AuthorizerAppid": appid, "AuthorizationCode": auth_code,
                   "AuthorizationCodeExpiredTime": int(now + AUTH_CODE_TTL),
                   "PreAuthCode": code}
    return {"auth_code": auth_code, "push": deliver_component(sb, component_appid, message)}


def unauthorize(sb: Any, component_appid: str, body: dict) -> dict:
    state = sb.state
    with state.lock:
        component = control_component(state, component_appid)
        appid = body.get("appid", "")
        if component.authorizations.pop(appid, None) is None:
            raise ControlError(404, "account is not authorised to this component")
        now = sb.clock.now()
        for token in state.tokens.values():
            if (token.kind == "authorizer" and token.appid == appid
                    and token.component_appid == component_appid):
                token.invalid_after = now
        message = {"AppId": component_appid, "CreateTime": int(now),
                   "InfoType": "unauthorized", "AuthorizerAppid": appid}
    return {"push": deliver_component(sb, component_appid, message)}


def _component(ctx: Ctx, body: dict) -> Component:
    component = ctx.state.components.get(str(body.get("component_appid") or ""))
    if component is None or component.component_appid != ctx.appid:
        raise ApiError(40013)
    return component


def _func_info(func_ids: list[int]) -> list[dict]:
    return [{"funcscope_category": {"id": i}} for i in func_ids]


@api("/cgi-bin/component/api_component_token", auth="none")
def api_component_token(ctx: Ctx) -> dict:
    body = ctx.body()
    ctx.appid = str(body.get("component_appid") or "")
    component = ctx.state.components.get(ctx.appid)
    if component is None:
        raise ApiError(40013)
    if body.get("component_appsecret") != component.component_appsecret:
        raise ApiError(40125)
    check_component_ip(component, ctx.req.client_ip)
    issued = component.tickets.get(str(body.get("component_verify_ticket") or ""))
    if issued is None:
        raise ApiError(61006)
    if ctx.now - issued >= TICKET_TTL:
        raise ApiError(61005)
    token = issue_token(ctx.state, kind="component", appid=component.component_appid,
                        now=ctx.now)
    ctx.state.bump("token_issued", component.component_appid)
    return {"component_access_token": token.token, "expires_in": token_ttl(ctx.state)}


@api("/cgi-bin/component/api_create_preauthcode", auth="component")
def api_create_preauthcode(ctx: Ctx) -> dict:
    component = _component(ctx, ctx.body())
    code = "preauthcode@@@" + secrets.token_urlsafe(40)
    component.preauth_codes[code] = {"expires_at": ctx.now + PREAUTH_TTL, "used": False}
    return {"pre_auth_code": code, "expires_in": PREAUTH_TTL}


@api("/cgi-bin/component/api_query_auth", auth="component")
def api_query_auth(ctx: Ctx) -> dict:
    body = ctx.body()
    component = _component(ctx, body)
    grant = component.auth_codes.get(str(body.get("authorization_code") or ""))
    if grant is None or grant["used"] or ctx.now >= grant["expires_at"]:
        raise ApiError(61009)
    grant["used"] = True
    appid = grant["appid"]
    authorization = component.authorizations.get(appid)
    if authorization is None:
        raise ApiError(61003)
    token = issue_token(ctx.state, kind="authorizer", appid=appid, now=ctx.now,
                        component_appid=component.component_appid)
    return {"authorization_info": {
        "authorizer_appid": appid,
        "authorizer_access_token": token.token,
        "expires_in": token_ttl(ctx.state),
        "authorizer_refresh_token": authorization["refresh_token"],
        "func_info": _func_info(grant["func_ids"]),
    }}


@api("/cgi-bin/component/api_authorizer_token", auth="component")
def api_authorizer_token(ctx: Ctx) -> dict:
    body = ctx.body()
    component = _component(ctx, body)
    appid = str(body.get("authorizer_appid") or "")
    authorization = component.authorizations.get(appid)
    if authorization is None:
        raise ApiError(61003)
    if body.get("authorizer_refresh_token") != authorization["refresh_token"]:
        raise ApiError(61023)
    token = issue_token(ctx.state, kind="authorizer", appid=appid, now=ctx.now,
                        component_appid=component.component_appid)
    return {"authorizer_access_token": token.token, "expires_in": token_ttl(ctx.state),
            "authorizer_refresh_token": authorization["refresh_token"]}


@api("/cgi-bin/component/api_get_authorizer_info", auth="component")
def api_get_authorizer_info(ctx: Ctx) -> dict:
    body = ctx.body()
    component = _component(ctx, body)
    appid = str(body.get("authorizer_appid") or "")
    authorization = component.authorizations.get(appid)
    account = ctx.state.accounts.get(appid)
    if authorization is None or account is None:
        raise ApiError(61003)
    return {
        "authorizer_info": {
            "nick_name": account.name,
            "head_img": "",
            "service_type_info": {"id": SERVICE_TYPE[account.kind]},
            "verify_type_info": {"id": 0 if account.verified else -1},
            "user_name": account.original_id,
            "principal_name": "Sandbox Co., Ltd.",
            "alias": "",
            "business_info": {"open_store": 0, "open_scan": 0, "open_pay": 0,
                              "open_card": 0, "open_shake": 0},
            "qrcode_url": f"http://mmbiz.qpic.cn/mmbiz_jpg/{account.original_id}/0",
        },
        "authorization_info": {"authorizer_appid": appid,
                               "func_info": _func_info(authorization["func_ids"])},
    }


@api("/cgi-bin/component/api_get_authorizer_list", auth="component")
def api_get_authorizer_list(ctx: Ctx) -> dict:
    body = ctx.body()
    component = _component(ctx, body)
    offset, count = body.get("offset", 0), body.get("count", 500)
    if not isinstance(offset, int) or not isinstance(count, int) or not 0 < count <= 500:
        raise ApiError(47001)
    items = [{"authorizer_appid": appid, "refresh_token": a["refresh_token"],
              "auth_time": a["auth_time"]} for appid, a in component.authorizations.items()]
    return {"total_count": len(items), "list": items[offset:offset + count]}
