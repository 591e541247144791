"""The third-party platform flow end to end against the sandbox."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest

from tests.wechat.sandbox_helpers import calls, control, follow, make_account
from wechat import errors
from wechat.client import ComponentClient, InMemoryTicketStore
from wechat.sandbox.server import SandboxServer

COMPONENT = "wxcomponent0001"


def make_component(sandbox: SandboxServer, callback_receiver, portal_for):
    component = control(
        sandbox,
        "POST",
        "/components",
        {"component_appid": COMPONENT, "auth_event_url": callback_receiver.url},
    )
    # The authorisation-event URL decrypts pushes with the platform's key and AppID.
    portal = portal_for(
        {
            "token": component["token"],
            "encoding_aes_key": component["encoding_aes_key"],
            "appid": COMPONENT,
        }
    )
    callback_receiver.configure(responder=portal)
    return component, portal


def test_component_flow_end_to_end(sandbox: SandboxServer, callback_receiver, portal_for) -> None:
    component, portal = make_component(sandbox, callback_receiver, portal_for)
    account = make_account(sandbox)
    appid = account["appid"]
    openid = follow(sandbox, appid)
    tickets = InMemoryTicketStore()
    platform = ComponentClient(
        COMPONENT,
        component["component_appsecret"],
        base_url=sandbox.base_url,
        get_ticket=tickets,
        clock=sandbox.clock.now,
        sleep=lambda s: None,
    )

    # The platform cannot get a token before the first ticket arrives.
    with pytest.raises(errors.ComponentTicketInvalid):
        platform.component_token()

    control(sandbox, "POST", f"/components/{COMPONENT}/ticket")
    (ticket_push,) = portal.messages
    assert ticket_push["InfoType"] == "component_verify_ticket"
    tickets.set(ticket_push["ComponentVerifyTicket"])
    assert platform.component_token()

    pre_auth = platform.create_preauth_code()
    assert pre_auth["expires_in"] > 0
    consent = platform.consent_url(pre_auth["pre_auth_code"], "https://portal.test/wx/authorized")
    assert parse_qs(urlsplit(consent).query)["pre_auth_code"] == [pre_auth["pre_auth_code"]]

    # The admin consents (granting messages, users, account service); the auth code
    # reaches the authorisation-event URL as an "authorized" push.
    control(
        sandbox,
        "POST",
        f"/components/{COMPONENT}/authorize",
        {"pre_auth_code": pre_auth["pre_auth_code"], "appid": appid, "func_ids": [1, 2, 3]},
    )
    authorized = portal.messages[-1]
    assert authorized["InfoType"] == "authorized"
    info = platform.query_auth(authorized["AuthorizationCode"])
    assert info["authorizer_appid"] == appid
    assert [f["funcscope_category"]["id"] for f in info["func_info"]] == [1, 2, 3]
    assert platform.refresh_tokens.get(appid) == info["authorizer_refresh_token"]

    wx = platform.authorizer_client(appid)
    assert wx.user_info(openid)["subscribe"] == 1  # uses the token from query_auth
    assert calls(sandbox, "/cgi-bin/component/api_authorizer_token") == []
    with pytest.raises(errors.ApiUnauthorized):
        wx.menu_get()  # bundle 15 was not granted

    details = platform.get_authorizer_info(appid)
    assert details["authorizer_info"]["user_name"] == account["original_id"]
    listed = platform.get_authorizer_list()
    assert listed["total_count"] == 1 and listed["list"][0]["authorizer_appid"] == appid

    # Two hours later both tokens are due: the platform token is fetched again with the
    # stored ticket, the authorizer token is renewed through the refresh token.
    sandbox.clock.advance(7200)
    assert wx.user_list()["total"] == 1
    assert len(calls(sandbox, "/cgi-bin/component/api_authorizer_token")) == 1
    assert len(calls(sandbox, "/cgi-bin/component/api_component_token")) == 2

    # An explicit refresh also works and keeps the (stable) refresh token.
    refreshed = platform.refresh_authorizer_token(appid, info["authorizer_refresh_token"])
    assert refreshed["authorizer_refresh_token"] == info["authorizer_refresh_token"]

    control(sandbox, "POST", f"/components/{COMPONENT}/unauthorize", {"appid": appid})
    assert portal.messages[-1]["InfoType"] == "unauthorized"
    with pytest.raises(errors.ApiUnauthorized) as revoked:
        wx.user_info(openid)
    assert revoked.value.errcode == 61003


def test_a_wrong_refresh_token_is_refresh_token_invalid(
    sandbox: SandboxServer, callback_receiver, portal_for
) -> None:
    component, _ = make_component(sandbox, callback_receiver, portal_for)
    account = make_account(sandbox)
    ticket = control(sandbox, "POST", f"/components/{COMPONENT}/ticket")["ticket"]
    platform = ComponentClient(
        COMPONENT,
        component["component_appsecret"],
        base_url=sandbox.base_url,
        get_ticket=InMemoryTicketStore(ticket),
        clock=sandbox.clock.now,
    )
    code = platform.create_preauth_code()["pre_auth_code"]
    auth_code = control(
        sandbox,
        "POST",
        f"/components/{COMPONENT}/authorize",
        {"pre_auth_code": code, "appid": account["appid"]},
    )["auth_code"]
    platform.query_auth(auth_code)
    with pytest.raises(errors.RefreshTokenInvalid, match="authorise again"):
        platform.refresh_authorizer_token(account["appid"], "refreshtoken@@@forged")


def test_an_expired_ticket_is_reported(sandbox: SandboxServer, callback_receiver, portal_for):
    component, _ = make_component(sandbox, callback_receiver, portal_for)
    ticket = control(sandbox, "POST", f"/components/{COMPONENT}/ticket")["ticket"]
    sandbox.clock.advance(12 * 3600)
    platform = ComponentClient(
        COMPONENT,
        component["component_appsecret"],
        base_url=sandbox.base_url,
        get_ticket=InMemoryTicketStore(ticket),
        clock=sandbox.clock.now,
    )
    with pytest.raises(errors.ComponentTicketInvalid) as caught:
        platform.component_token()
    assert caught.value.errcode == 61005
