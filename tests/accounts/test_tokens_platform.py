"""Platform-connected accounts renew through their refresh token; a void one (61023)
disconnects the account and tells the brand's owners and admins."""

from __future__ import annotations

from typing import Any

import pytest
from django.core import mail

from accounts.models import OfficialAccount, PlatformApp
from accounts.tasks import tokens_refresh_due_task
from accounts.wechat_clients import client_for, component_client
from tests.accounts.platform_support import connect_by_authorization
from tests.accounts.token_support import counter, travel
from tests.factories import make_brand, make_member, owner_scope
from wechat.errors import RefreshTokenInvalid
from wechat.sandbox.server import SandboxServer

RENEW = "/cgi-bin/component/api_authorizer_token"


def _authorize(sb: SandboxServer, platform: PlatformApp, appid: str) -> str:
    """The account's admin consents in WeChat; returns the auth code."""
    pre = component_client(platform).create_preauth_code()["pre_auth_code"]
    return sb.control("POST", f"/components/{platform.component_appid}/authorize",
                      {"pre_auth_code": pre, "appid": appid, "func_ids": [1, 2]})["auth_code"]


@pytest.fixture
def connected(db: None, portal_sandbox: SandboxServer) -> dict[str, Any]:
    sb = portal_sandbox
    brand = make_brand()
    platform, account = connect_by_authorization(sb, owner_scope(brand))
    return {"sb": sb, "platform": platform, "brand": brand, "account": account}


def test_an_authorizer_token_is_renewed_through_the_refresh_token(
    connected: dict[str, Any],
) -> None:
    sb, account, platform = connected["sb"], connected["account"], connected["platform"]
    client = client_for(account)
    client.tag_list()  # the token from the authorization itself, no renewal yet
    assert counter(sb, "calls", RENEW) == 0

    travel(sb, 7200 - 100, account.appid, components=(platform.component_appid,))
    client.tag_list()

    assert counter(sb, "calls", RENEW) == 1
    assert counter(sb, "calls", "/cgi-bin/component/api_component_token") == 2
    account.refresh_from_db()
    assert account.token_fetched_at is not None and account.health != "error"
    assert tokens_refresh_due_task() == 0  # nothing left due for the beat
    assert counter(sb, "calls", RENEW) == 1


def test_a_void_refresh_token_disconnects_the_account_and_emails_its_admins(
    connected: dict[str, Any], django_capture_on_commit_callbacks: Any
) -> None:
    sb, account, platform, brand = (
        connected["sb"], connected["account"], connected["platform"], connected["brand"])
    admin = make_member(brand=brand, role="admin")
    make_member(brand=brand, role="agent")
    make_member(brand=make_brand(), role="admin")
    _authorize(sb, platform, account.appid)  # re-authorised elsewhere: our refresh token is void
    travel(sb, 7200, account.appid, components=(platform.component_appid,))
    mail.outbox.clear()

    with django_capture_on_commit_callbacks(execute=True), pytest.raises(RefreshTokenInvalid):
        client_for(account).tag_list()

    account.refresh_from_db()
    assert account.disconnected_at is not None and account.disconnect_reason
    assert account.health == "not_connected"
    assert account.last_error_code == 61023
    owner_email = brand.memberships.get(role="owner").user.email
    assert len(mail.outbox) == 1
    assert sorted(mail.outbox[0].to) == sorted([owner_email, admin.user.email])
    assert tokens_refresh_due_task() == 0  # a disconnected account is left alone
    assert OfficialAccount.objects.get(pk=account.pk).disconnected_at == account.disconnected_at
