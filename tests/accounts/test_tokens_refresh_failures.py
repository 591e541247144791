"""A failed renewal keeps the old token in use until it expires and shows on the account;
a token rejected underneath is refreshed once and the call retried."""

from __future__ import annotations

import pytest

from accounts.models import OfficialAccount
from accounts.tasks import token_refresh_task
from accounts.wechat_clients import client_for
from tests.accounts.token_support import counter, token_calls, travel, twin
from tests.factories import make_account, make_brand
from wechat.errors import WeChatException
from wechat.sandbox.server import SandboxServer


@pytest.fixture
def account(db: None, portal_sandbox: SandboxServer) -> OfficialAccount:
    account = make_account(brand=make_brand())
    twin(portal_sandbox, account)
    return account


@pytest.mark.parametrize("kind", ["busy", "http_500"])
def test_a_failed_renewal_keeps_the_old_token_until_it_expires_and_marks_the_account(
    portal_sandbox: SandboxServer, account: OfficialAccount, kind: str
) -> None:
    sb, appid = portal_sandbox, account.appid
    client = client_for(account)
    old = client.access_token()
    travel(sb, 7200 - 100, appid)  # due, still valid for 100 s
    sb.control("POST", "/faults", {"kind": kind, "path": "/cgi-bin/stable_token"})

    assert client.tag_list() is not None  # served with the old token
    assert client.access_token() == old
    account.refresh_from_db()
    assert account.health == "error"
    assert account.token_error
    assert account.last_error_code == (-1 if kind == "busy" else None)
    attempts = token_calls(sb, appid)
    client.tag_list()
    assert token_calls(sb, appid) == attempts  # no new attempt while the failure is fresh

    travel(sb, 101, appid)  # now the old token has really expired
    with pytest.raises(WeChatException):
        client.tag_list()

    # Once the platform recovers, the beat's renewal brings the account back.
    sb.control("DELETE", f"/faults/{sb.control('GET', '/faults')['faults'][0]['id']}")
    assert token_refresh_task(account.pk) == "renewed"
    assert client.tag_list() is not None
    account.refresh_from_db()
    assert account.health != "error" and account.token_error == ""


def test_a_token_invalidated_underneath_is_refreshed_once_and_the_call_retried(
    portal_sandbox: SandboxServer, account: OfficialAccount
) -> None:
    sb, appid = portal_sandbox, account.appid
    client = client_for(account)
    client.tag_list()
    assert counter(sb, "stable_token_issued", appid) == 1
    sb.control("POST", "/faults", {"kind": "token_expired", "path": "/cgi-bin/tags/get",
                                   "count": 1})

    assert client.tag_list() is not None

    assert counter(sb, "stable_token_issued", appid) == 2
    assert counter(sb, "calls", "/cgi-bin/tags/get") == 3  # first, rejected, retried
    assert counter(sb, "errors", "42001") == 1
