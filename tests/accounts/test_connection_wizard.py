"""The connection wizard: callback secrets, AppSecret, and "test connection" through the
sandbox, which calls the portal's callback URL the way WeChat does."""

import time

import pytest

from accounts.models import Membership
from tests.accounts.token_support import twin
from tests.factories import make_account, make_brand, make_member
from wechat import crypto

pytestmark = pytest.mark.django_db(transaction=True)


def _twin(sb, account, **spec):
    """The account as WeChat knows it: the admin pasted our token and key there."""
    spec = {"token": account.token, "encoding_aes_key": account.encoding_aes_key, **spec}
    return twin(sb, account, **spec)


def _owner(brand):
    return Membership.objects.get(brand=brand, role="owner").user


@pytest.fixture
def wired(portal_sandbox, live_server, settings):
    """The portal talks to the sandbox, and the sandbox can reach the portal."""
    settings.SITE_URL = live_server.url
    settings.WECHAT_SANDBOX = True
    return portal_sandbox


def test_generating_a_token_shows_it_once_and_keeps_the_old_one_valid(client):
    brand = make_brand()
    account = make_account(brand=brand)
    old = account.token
    client.force_login(_owner(brand))
    response = client.post(f"/official-accounts/{account.pk}/connect/", {"action": "token"})
    assert response.status_code == 302
    page = client.get(response["Location"]).content.decode()
    account.refresh_from_db()
    assert account.token != old and account.token in page
    again = client.get(response["Location"]).content.decode()
    assert account.token not in again
    ts, nonce = str(int(time.time())), "42"
    for token in (old, account.token):
        verify = client.get(
            f"/wechat/{account.appid}/callback/",
            {"signature": crypto.url_signature(token, ts, nonce), "timestamp": ts,
             "nonce": nonce, "echostr": "ok-123"},
        )
        assert verify.content == b"ok-123"


def test_the_app_secret_is_write_only_in_the_wizard(client):
    brand = make_brand()
    account = make_account(brand=brand, app_secret="first-secret-value")
    client.force_login(_owner(brand))
    client.post(f"/official-accounts/{account.pk}/connect/",
                {"action": "secret", "app_secret": "second-secret-value"})
    account.refresh_from_db()
    assert account.app_secret == "second-secret-value"
    page = client.get(f"/official-accounts/{account.pk}/connect/").content.decode()
    assert "second-secret-value" not in page and "first-secret-value" not in page


def test_test_connection_fetches_a_token_and_gets_a_signed_callback(client, wired):
    brand = make_brand()
    account = make_account(brand=brand)
    _twin(wired, account)
    client.force_login(_owner(brand))
    page = client.post(f"/official-accounts/{account.pk}/connect/", {"action": "test"})
    body = page.content.decode()
    assert 'data-testid="test-ok"' in body, body[body.find("test-report"):][:1500]
    account.refresh_from_db()
    assert account.token_fetched_at is not None and account.health != "error"
    pushes = wired.control("GET", "/calls", query={"appid": account.appid})["calls"]
    assert any(c["path"] == "/cgi-bin/stable_token" for c in pushes)


def test_a_wrong_secret_fails_the_test_with_an_explanation(client, wired):
    brand = make_brand()
    account = make_account(brand=brand, app_secret="what-the-portal-thinks")
    _twin(wired, account, secret="what-wechat-has")
    client.force_login(_owner(brand))
    body = client.post(f"/official-accounts/{account.pk}/connect/",
                       {"action": "test"}).content.decode()
    assert 'data-testid="test-ok"' not in body
    assert "AppSecret" in body
    account.refresh_from_db()
    assert account.health == "error"
    detail = client.get(f"/official-accounts/{account.pk}/").content.decode()
    # The code's explanation and its fix, the code itself in small print for support.
    assert "The AppSecret is not valid." in detail and "Fix:" in detail
    assert "WeChat code 40125" in detail and "None" not in detail


def test_a_token_that_differs_from_wechats_fails_the_round_trip(client, wired):
    brand = make_brand()
    account = make_account(brand=brand)
    _twin(wired, account, token="WhatWeChatHas99")
    client.force_login(_owner(brand))
    body = client.post(f"/official-accounts/{account.pk}/connect/",
                       {"action": "test"}).content.decode()
    assert 'data-testid="test-ok"' not in body
    assert "did not echo" in body and "token pasted in the WeChat admin" in body


def test_agents_cannot_open_the_wizard(client):
    brand = make_brand()
    account = make_account(brand=brand)
    client.force_login(make_member(brand=brand, accounts=[account]).user)
    assert client.get(f"/official-accounts/{account.pk}/connect/").status_code == 403
