"""Disconnecting an account from its page: asked first with what it does, then the portal
stops acting for the account (no AppSecret or refresh token, no cached token) while its
conversations, messages and followers stay; a new AppSecret or authorization connects it
again."""

from __future__ import annotations

import logging
from typing import Any

import pytest
from django.conf import settings
from django.core.cache import cache
from django.test import Client

from accounts.capabilities import account_capabilities
from accounts.disconnect import account_disconnect_by_member
from accounts.errors import NotInScope, RoleRequired
from accounts.models import Membership, OfficialAccount, PlatformApp
from accounts.platform import authorization_complete, authorization_start
from accounts.scope import scope_for_membership
from accounts.services import account_update
from accounts.tokens import token_cache_key
from accounts.wechat_clients import client_for
from followers.models import Follower
from messaging import services as messaging_services
from messaging.models import Conversation, Message
from messaging.services import SendOutcome, message_deliver
from tests.accounts.html_support import Node, parse
from tests.accounts.platform_support import connect_by_authorization
from tests.factories import (
    make_account,
    make_brand,
    make_conversation,
    make_member,
    make_user,
    owner_scope,
)
from tests.messaging.reply_support import Wired, wired  # noqa: F401 - fixture
from wechat.sandbox.server import SandboxServer

pytestmark = pytest.mark.django_db


def _owner(brand):  # noqa: ANN001, ANN202
    return Membership.objects.get(brand=brand, role="owner").user


@pytest.fixture
def authorized(db: None, portal_sandbox: SandboxServer) -> dict[str, Any]:
    """An account of a fresh brand connected by authorization, its token cached."""
    sb = portal_sandbox
    brand = make_brand(name="Lumen Hotels Group")
    scope = owner_scope(brand)
    _platform, account = connect_by_authorization(sb, scope)
    return {"sb": sb, "brand": brand, "scope": scope, "account": account}


# --- the service ---------------------------------------------------------------------------


def test_a_direct_account_loses_its_secret_and_cached_token_and_keeps_its_history(
    wired: Wired, caplog: pytest.LogCaptureFixture,  # noqa: F811
) -> None:
    account = wired.account
    client_for(account).tag_list()  # a token is fetched and cached
    assert cache.get(token_cache_key(account.appid)) is not None
    messages_before = Message.objects.filter(account=account).count()
    owner = _owner(account.brand)
    owner.name = "Grace"
    owner.save(update_fields=["name"])

    with caplog.at_level(logging.INFO, logger="accounts.disconnect"):
        account_disconnect_by_member(scope=owner_scope(account.brand), account=account, by=owner)

    assert [r.getMessage() for r in caplog.records if r.name == "accounts.disconnect"] == [
        "account disconnected by a member"]
    account.refresh_from_db()
    assert account.disconnected_at is not None
    assert account.disconnect_reason == "Disconnected by Grace on the portal"
    assert account.app_secret == ""
    assert cache.get(token_cache_key(account.appid)) is None
    assert account.health == "not_connected"
    assert Conversation.objects.filter(pk=wired.conversation.pk).exists()
    assert Follower.objects.filter(pk=wired.follower.pk).exists()
    assert Message.objects.filter(account=account).count() == messages_before


def test_a_reply_waiting_to_be_sent_fails_once_the_account_is_disconnected(
    wired: Wired, django_capture_on_commit_callbacks,  # noqa: F811
) -> None:
    """What the confirmation page says about replies still waiting: they fail."""
    with django_capture_on_commit_callbacks(execute=False):
        reply = messaging_services.message_reply(
            scope=wired.scope, conversation=wired.conversation, text="On our way", by=wired.agent)
    owner = _owner(wired.account.brand)
    account_disconnect_by_member(scope=owner_scope(wired.account.brand), account=wired.account,
                                 by=owner)
    with django_capture_on_commit_callbacks(execute=True):
        outcome = message_deliver(message_id=reply.pk)
    reply.refresh_from_db()
    assert outcome == SendOutcome.FAILED
    assert reply.status == Message.Status.FAILED and reply.error_reason
    assert reply.errcode == 41004  # the platform's "AppSecret missing": no token for it
    assert wired.send_calls() == []


def test_an_authorized_account_loses_its_refresh_token_bundles_and_cached_token(
    authorized: dict[str, Any],
) -> None:
    account, brand = authorized["account"], authorized["brand"]
    assert account.authorizer_refresh_token and account.granted_bundles
    assert cache.get(token_cache_key(account.appid)) is not None

    account_disconnect_by_member(scope=authorized["scope"], account=account, by=_owner(brand))

    account.refresh_from_db()
    assert account.disconnected_at is not None
    assert account.disconnect_reason.startswith("Disconnected by ")
    assert account.authorizer_refresh_token == "" and account.granted_bundles == []
    assert cache.get(token_cache_key(account.appid)) is None


def test_a_disconnected_direct_account_can_do_nothing_and_says_how_to_reconnect() -> None:
    brand = make_brand()
    account = make_account(brand=brand, kind="service", verified=True)
    assert any(c.enabled for c in account_capabilities(account))
    account_disconnect_by_member(scope=owner_scope(brand), account=account, by=_owner(brand))
    caps = account_capabilities(OfficialAccount.objects.get(pk=account.pk))
    assert not any(c.enabled for c in caps)
    assert all("enter its AppSecret in the connection wizard" in c.reason for c in caps)


def test_an_authorized_account_connects_again_by_authorizing_again(
    authorized: dict[str, Any],
) -> None:
    sb, account, scope = authorized["sb"], authorized["account"], authorized["scope"]
    account_disconnect_by_member(scope=scope, account=account, by=_owner(authorized["brand"]))
    platform = PlatformApp.objects.get(is_active=True)
    pending, _url = authorization_start(scope=scope, platform=platform,
                                        redirect_uri="http://testserver/back",
                                        by=scope.membership.user)
    auth_code = sb.control(
        "POST", f"/components/{platform.component_appid}/authorize",
        {"pre_auth_code": pending.pre_auth_code, "appid": account.appid, "func_ids": [1, 2]},
    )["auth_code"]
    authorization_complete(auth_code=auth_code, pending=pending)
    account.refresh_from_db()
    assert account.disconnected_at is None and account.disconnect_reason == ""
    assert account.authorizer_refresh_token and account.granted_bundles == [1, 2]


def test_disconnecting_twice_changes_nothing_the_second_time() -> None:
    brand = make_brand()
    account = make_account(brand=brand)
    scope = owner_scope(brand)
    first = account_disconnect_by_member(scope=scope, account=account, by=_owner(brand))
    other = make_member(brand=brand, role="admin", user=make_user(name="Ada"))
    again = account_disconnect_by_member(scope=scope_for_membership(other), account=account,
                                         by=other.user)
    assert again.disconnected_at == first.disconnected_at
    assert again.disconnect_reason == first.disconnect_reason
    assert "Ada" not in OfficialAccount.objects.get(pk=account.pk).disconnect_reason


def test_a_new_app_secret_connects_a_direct_account_again() -> None:
    brand = make_brand()
    account = make_account(brand=brand)
    scope = owner_scope(brand)
    account_disconnect_by_member(scope=scope, account=account, by=_owner(brand))

    account_update(scope=scope, account=OfficialAccount.objects.get(pk=account.pk),
                   app_secret="a-new-secret-0123456789abcdef")

    account.refresh_from_db()
    assert account.disconnected_at is None and account.disconnect_reason == ""
    assert account.app_secret == "a-new-secret-0123456789abcdef"
    assert account.health != "not_connected"


def test_agents_and_other_brands_cannot_disconnect() -> None:
    brand = make_brand()
    account = make_account(brand=brand)
    agent = make_member(brand=brand, role="agent", accounts=[account])
    with pytest.raises(RoleRequired):
        account_disconnect_by_member(scope=scope_for_membership(agent), account=account,
                                     by=agent.user)
    stranger = make_brand()
    with pytest.raises(NotInScope):
        account_disconnect_by_member(scope=owner_scope(stranger), account=account,
                                     by=_owner(stranger))
    account.refresh_from_db()
    assert account.disconnected_at is None and account.app_secret


# --- the pages -----------------------------------------------------------------------------


def _signed_in(client: Client, *, language: str = "en"):  # noqa: ANN202
    brand = make_brand(name="Lumen Hotels Group")
    client.force_login(_owner(brand))
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = language
    return brand


def _page(response) -> Node:  # noqa: ANN001
    assert response.status_code == 200, response.content.decode()[:1500]
    return parse(response.content.decode())


def test_the_confirmation_says_what_happens_and_asking_changes_nothing(client: Client) -> None:
    brand = _signed_in(client)
    account = make_account(brand=brand, name="Beijing Sanlitun")
    make_conversation(account=account)

    page = _page(client.get(f"/official-accounts/{account.pk}/disconnect/"))
    assert page.find_all("h1")[0].text() == "Disconnect Beijing Sanlitun?"
    assert page.find_all("title")[0].text() == "Disconnect Beijing Sanlitun · Lumen Hotels Group"
    said = page.find_all(**{"data-testid": "consequences"})[0].text()
    assert "The portal stops sending for Beijing Sanlitun" in said
    assert "deletes its copy of the AppSecret" in said
    assert "Replies still waiting to be sent fail at their next attempt" in said
    assert "until the server configuration is turned off in the WeChat admin" in said
    assert "Conversations, messages and followers stay as they are." in said
    assert "enter its AppSecret in the connection wizard" in said
    [form] = page.find_all("form", **{"data-testid": "confirm-form"})
    assert form.attrs["method"] == "post"
    assert form.attrs["action"] == f"/official-accounts/{account.pk}/disconnect/"
    assert form.find_all("input", name="csrfmiddlewaretoken")
    [cancel] = page.find_all("a", **{"data-testid": "cancel"})
    assert cancel.attrs["href"] == f"/official-accounts/{account.pk}/"
    account.refresh_from_db()
    assert account.disconnected_at is None and account.app_secret


def test_an_authorized_accounts_confirmation_speaks_of_authorization(
    client: Client, authorized: dict[str, Any],
) -> None:
    client.force_login(_owner(authorized["brand"]))
    account = authorized["account"]
    said = _page(client.get(f"/official-accounts/{account.pk}/disconnect/")).find_all(
        **{"data-testid": "consequences"})[0].text()
    assert "deletes the authorization's refresh token" in said
    assert "until the account's administrator withdraws the authorization on WeChat" in said
    assert "authorize it again from the connection wizard" in said
    assert "AppSecret" not in said


def test_confirming_disconnects_and_goes_back_to_the_account(client: Client) -> None:
    brand = _signed_in(client)
    account = make_account(brand=brand, name="Beijing Sanlitun")
    detail = _page(client.get(f"/official-accounts/{account.pk}/"))
    assert detail.find_all("a", href=f"/official-accounts/{account.pk}/disconnect/",
                           **{"data-testid": "disconnect-account"})

    response = client.post(f"/official-accounts/{account.pk}/disconnect/", follow=True)
    assert response.redirect_chain == [(f"/official-accounts/{account.pk}/", 302)]
    page = _page(response)
    assert "Beijing Sanlitun is disconnected." in page.text()
    assert "Disconnected by" in page.text()
    assert not page.find_all(**{"data-testid": "disconnect-account"})
    account.refresh_from_db()
    assert account.disconnected_at is not None and account.app_secret == ""


def test_confirming_an_account_already_disconnected_says_so_and_keeps_the_reason(
    client: Client,
) -> None:
    brand = _signed_in(client)
    account = make_account(brand=brand)
    account_disconnect_by_member(scope=owner_scope(brand), account=account, by=_owner(brand))
    before = OfficialAccount.objects.get(pk=account.pk)
    response = client.post(f"/official-accounts/{account.pk}/disconnect/", follow=True)
    assert "The account was already disconnected." in _page(response).text()
    after = OfficialAccount.objects.get(pk=account.pk)
    assert (after.disconnected_at, after.disconnect_reason) == (
        before.disconnected_at, before.disconnect_reason)


def test_the_post_needs_the_csrf_token() -> None:
    client = Client(enforce_csrf_checks=True)
    brand = _signed_in(client)
    account = make_account(brand=brand)
    assert client.post(f"/official-accounts/{account.pk}/disconnect/").status_code == 403
    account.refresh_from_db()
    assert account.disconnected_at is None


def test_the_confirmation_is_translated(client: Client) -> None:
    brand = _signed_in(client, language="zh-hans")
    account = make_account(brand=brand, name="Beijing Sanlitun")
    page = _page(client.get(f"/official-accounts/{account.pk}/disconnect/"))
    assert page.find_all("h1")[0].text() == "要断开 Beijing Sanlitun 吗？"
    said = page.find_all(**{"data-testid": "consequences"})[0].text()
    assert "会话、消息和粉丝都保持不变。" in said
    assert page.find_all(**{"data-testid": "confirm"})[0].text() == "断开账号"


def test_agents_see_no_button_and_are_refused(client: Client) -> None:
    brand = make_brand()
    account = make_account(brand=brand)
    agent = make_member(brand=brand, role="agent", accounts=[account])
    client.force_login(agent.user)
    page = _page(client.get(f"/official-accounts/{account.pk}/"))
    assert not page.find_all(**{"data-testid": "disconnect-account"})
    assert client.get(f"/official-accounts/{account.pk}/disconnect/").status_code == 403
    assert client.post(f"/official-accounts/{account.pk}/disconnect/").status_code == 403
    account.refresh_from_db()
    assert account.disconnected_at is None


def test_another_brands_account_is_not_found(client: Client) -> None:
    account = make_account(brand=make_brand())
    _signed_in(client)
    assert client.get(f"/official-accounts/{account.pk}/disconnect/").status_code == 404
    assert client.post(f"/official-accounts/{account.pk}/disconnect/").status_code == 404
    account.refresh_from_db()
    assert account.disconnected_at is None
