"""Connecting an account by authorization, end to end: the sandbox pushes to a live portal.

The sandbox is WeChat: it pushes tickets and (de)authorizations to the portal's
/wechat/platform/ on a live server, serves the consent page, and answers the portal's
component calls. The brand admin's browser is Django's test client.
"""

from __future__ import annotations

import time
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from django.db import connection

from accounts.capabilities import account_capabilities
from accounts.crypto_fields import PREFIX
from accounts.models import OfficialAccount, PendingAuthorization, PlatformApp
from accounts.wechat_clients import client_for
from tests.accounts.platform_support import consent, make_platform, push_ticket
from tests.factories import make_account
from wechat.errors import ApiUnauthorized

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def platform(portal_sandbox, live_server, settings) -> PlatformApp:
    settings.WECHAT_CONSENT_URL = f"{portal_sandbox.base_url}/cgi-bin/componentloginpage"
    platform = make_platform(portal_sandbox, auth_event_url=f"{live_server.url}/wechat/platform/")
    push_ticket(portal_sandbox, platform)
    return platform


def _raw_column(table: str, column: str, pk: int) -> str:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {column} FROM {table} WHERE id = %s", [pk])  # noqa: S608
        return cursor.fetchone()[0]


def _start(client, user) -> str:
    client.force_login(user)
    response = client.get("/official-accounts/authorize/")
    assert response.status_code == 302, response.content
    return response["Location"]


def _connect(client, user, sandbox_account: dict, func_ids: list[int]) -> str:
    """Start, consent on the sandbox's page; returns the redirect back to the portal."""
    return consent(_start(client, user), appid=sandbox_account["appid"], func_ids=func_ids)


def _follow_back(client, location: str):
    parts = urlsplit(location)
    return client.get(f"{parts.path}?{parts.query}")


def test_the_ticket_push_is_stored_encrypted(portal_sandbox, platform):
    platform.refresh_from_db()
    latest = portal_sandbox.control("GET", f"/components/{platform.component_appid}")
    assert platform.verify_ticket == latest["latest_ticket"]
    assert platform.ticket_received_at is not None
    stored = _raw_column("accounts_platformapp", "verify_ticket", platform.pk)
    assert stored.startswith(PREFIX) and latest["latest_ticket"] not in stored
    # A second push replaces it: always the latest ticket.
    again = push_ticket(portal_sandbox, platform)
    assert again["push"]["body"] == "success"
    platform.refresh_from_db()
    assert platform.verify_ticket == again["ticket"]


def test_a_brand_admin_connects_an_account_through_the_consent_page(
    client, two_brands, portal_sandbox, platform
):
    admin = two_brands["admin_a"].user
    oa = portal_sandbox.control(
        "POST", "/accounts", {"name": "Harbour Hotel", "kind": "service", "verified": True}
    )
    follower = portal_sandbox.control(
        "POST", f"/accounts/{oa['appid']}/followers", {"push": False}
    )["openid"]

    consent_url = _start(client, admin)
    assert consent_url.startswith(f"{portal_sandbox.base_url}/cgi-bin/componentloginpage?")
    query = parse_qs(urlsplit(consent_url).query)
    assert query["component_appid"] == [platform.component_appid]
    assert query["redirect_uri"] == ["http://testserver/official-accounts/authorize/return/"]
    pending = PendingAuthorization.objects.get()
    assert pending.brand == two_brands["brand_a"] and query["pre_auth_code"] == [
        pending.pre_auth_code
    ]

    # The account's admin unticks everything but messages, users and QR codes.
    location = consent(consent_url, appid=oa["appid"], func_ids=[1, 2, 3])
    assert location.startswith("http://testserver/official-accounts/authorize/return/?")
    # The `authorized` push reached the portal before the browser came back.
    account = OfficialAccount.objects.get(appid=oa["appid"])
    assert account.brand == two_brands["brand_a"]
    assert (account.name, account.original_id) == ("Harbour Hotel", oa["original_id"])
    assert (account.kind, account.verified) == ("service", True)
    assert account.connection == "platform" and account.granted_bundles == [1, 2, 3]
    grant = portal_sandbox.control("GET", f"/components/{platform.component_appid}")
    refresh = grant["authorizations"][oa["appid"]]["refresh_token"]
    assert account.authorizer_refresh_token == refresh
    stored = _raw_column("accounts_officialaccount", "authorizer_refresh_token", account.pk)
    assert stored.startswith(PREFIX) and refresh not in stored

    # The browser redirect finds it done, and lands on the account.
    response = _follow_back(client, location)
    assert response.status_code == 302 and response["Location"] == (
        f"/official-accounts/{account.pk}/"
    )
    page = client.get(response["Location"])
    assert "Harbour Hotel is connected by authorization." in page.content.decode()
    pending.refresh_from_db()
    assert pending.completed_at is not None and pending.account == account
    calls = portal_sandbox.control(
        "GET", "/calls", query={"path": "/cgi-bin/component/api_query_auth"}
    )["calls"]
    assert len(calls) == 1  # one exchange, not two

    # The account works with the authorizer token, and only within its bundles.
    wechat = client_for(account)
    assert wechat.user_list()["data"]["openid"] == [follower]
    renewals = portal_sandbox.control(
        "GET", "/calls", query={"path": "/cgi-bin/component/api_authorizer_token"}
    )["calls"]
    assert renewals == []  # the exchange primed the token cache
    with pytest.raises(ApiUnauthorized):
        wechat.menu_get()
    off = {c.feature for c in account_capabilities(account) if not c.enabled}
    assert off == {
        "kf_accounts", "broadcasts", "broadcasts_openid", "templates", "menus",
        "menus_conditional", "analytics_articles",
    }


def test_the_token_is_renewed_through_the_stored_refresh_token(
    client, two_brands, portal_sandbox, platform
):
    from django.core.cache import cache

    oa = portal_sandbox.control("POST", "/accounts", {"kind": "service"})
    _connect(client, two_brands["admin_a"].user, oa, [2])
    account = OfficialAccount.objects.get(appid=oa["appid"])
    cache.clear()  # no primed token, no component token: everything from the database
    assert client_for(account).user_list()["total"] == 0
    renewals = portal_sandbox.control(
        "GET", "/calls", query={"path": "/cgi-bin/component/api_authorizer_token"}
    )["calls"]
    assert [c["errcode"] for c in renewals] == [0]


def test_reauthorization_updates_the_bundles(client, two_brands, portal_sandbox, platform):
    admin = two_brands["admin_a"].user
    oa = portal_sandbox.control("POST", "/accounts", {"kind": "subscription"})
    _follow_back(client, _connect(client, admin, oa, [1, 2]))
    account = OfficialAccount.objects.get(appid=oa["appid"])
    first_refresh = account.authorizer_refresh_token

    location = _connect(client, admin, oa, [1, 2, 7, 15])
    pushes = portal_sandbox.control("GET", "/pushes")["pushes"]
    assert pushes[-1]["kind"] == "updateauthorized" and pushes[-1]["ok"]
    account.refresh_from_db()
    assert account.granted_bundles == [1, 2, 7, 15]
    assert account.kind == "subscription"
    assert account.authorizer_refresh_token not in ("", first_refresh)
    assert _follow_back(client, location)["Location"] == f"/official-accounts/{account.pk}/"
    assert OfficialAccount.objects.filter(appid=oa["appid"]).count() == 1


def test_deauthorization_disconnects_the_account_and_tells_the_admins(
    client, two_brands, portal_sandbox, platform, mailoutbox
):
    oa = portal_sandbox.control("POST", "/accounts", {"name": "Quay Hotel"})
    _connect(client, two_brands["admin_a"].user, oa, [1, 2, 7])
    account = OfficialAccount.objects.get(appid=oa["appid"])
    assert not mailoutbox

    answer = portal_sandbox.control(
        "POST", f"/components/{platform.component_appid}/unauthorize", {"appid": oa["appid"]}
    )
    assert answer["push"]["body"] == "success"
    account.refresh_from_db()
    assert account.disconnected_at is not None and "withdrew" in account.disconnect_reason
    assert account.authorizer_refresh_token == "" and account.granted_bundles == []
    assert account.health == "not_connected"
    assert not any(c.enabled for c in account_capabilities(account))

    assert len(mailoutbox) == 1
    mail = mailoutbox[0]
    brand_a_admins = {
        two_brands["admin_a"].user.email,
        two_brands["brand_a"].memberships.get(role="owner").user.email,
    }
    assert set(mail.to) == brand_a_admins  # not the agent, not brand B
    assert "Quay Hotel" in mail.subject and f"/official-accounts/{account.pk}/" in mail.body

    # Authorizing again reconnects it.
    _connect(client, two_brands["admin_a"].user, oa, [1])
    account.refresh_from_db()
    assert account.disconnected_at is None and account.granted_bundles == [1]


def test_the_browser_completes_it_when_the_push_is_late_and_the_push_then_changes_nothing(
    client, two_brands, portal_sandbox, live_server, settings, callback_receiver
):
    """The `authorized` push is held back (the platform's network), the admin comes back
    first; delivering the push afterwards must not exchange the spent code again."""
    settings.WECHAT_CONSENT_URL = f"{portal_sandbox.base_url}/cgi-bin/componentloginpage"
    # The platform pushes to a receiver that only records; the test delivers by hand.
    platform = make_platform(portal_sandbox, auth_event_url=callback_receiver.url)
    # Deliver the ticket by hand, as it was recorded.
    push_ticket(portal_sandbox, platform)
    _deliver(live_server, callback_receiver.requests[-1])
    oa = portal_sandbox.control("POST", "/accounts", {})

    location = _connect(client, two_brands["admin_a"].user, oa, [1, 2])
    assert not OfficialAccount.objects.filter(appid=oa["appid"]).exists()
    response = _follow_back(client, location)
    account = OfficialAccount.objects.get(appid=oa["appid"])
    assert response["Location"] == f"/official-accounts/{account.pk}/"

    late = _deliver(live_server, callback_receiver.requests[-1])
    assert (late.status_code, late.text) == (200, "success")
    assert OfficialAccount.objects.filter(appid=oa["appid"]).count() == 1
    calls = portal_sandbox.control(
        "GET", "/calls", query={"path": "/cgi-bin/component/api_query_auth"}
    )["calls"]
    assert [c["errcode"] for c in calls] == [0]


def _deliver(live_server, rec) -> requests.Response:
    return requests.post(
        f"{live_server.url}/wechat/platform/",
        params=rec.query,
        data=rec.body,
        headers={"Content-Type": "text/xml"},
        timeout=30,
    )


def test_an_account_connected_by_another_brand_is_a_conflict_that_names_no_brand(
    client, two_brands, portal_sandbox, platform
):
    theirs = make_account(brand=two_brands["brand_b"], name="B harbour")
    oa = portal_sandbox.control("POST", "/accounts", {"appid": theirs.appid, "kind": "service"})

    location = _connect(client, two_brands["admin_a"].user, oa, [1, 2])
    response = _follow_back(client, location)
    assert response.status_code == 409
    body = response.content.decode()
    assert "already connected to the portal by another organisation" in body
    assert "Brand B" not in body and "B harbour" not in body
    theirs.refresh_from_db()
    assert theirs.brand == two_brands["brand_b"] and theirs.connection == "direct"
    assert OfficialAccount.objects.filter(appid=oa["appid"]).count() == 1
    assert PendingAuthorization.objects.get().completed_at is None


def test_the_demo_registers_the_platform_and_pushes_a_first_ticket(portal_sandbox, live_server):
    from routing.management.commands.run_demo import SANDBOX_ONLY_ACCOUNTS, Command

    platform = make_platform(portal_sandbox)  # the sandbox already knows it: refused, no harm
    portal_sandbox.reset()
    host, port = urlsplit(live_server.url).hostname, urlsplit(live_server.url).port
    Command()._register_platform(portal_sandbox.base_url, host, port)

    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and not PlatformApp.objects.get().verify_ticket:
        time.sleep(0.05)
    platform.refresh_from_db()
    component = portal_sandbox.control("GET", f"/components/{platform.component_appid}")
    assert platform.verify_ticket == component["latest_ticket"]
    assert component["auth_event_url"] == f"{live_server.url}/wechat/platform/"
    known = {a["appid"] for a in portal_sandbox.control("GET", "/accounts")["accounts"]}
    assert {a["appid"] for a in SANDBOX_ONLY_ACCOUNTS} <= known
