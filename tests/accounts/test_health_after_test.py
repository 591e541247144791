"""A successful "test connection" counts as the account's last callback, marked as the
test's, until a real push arrives."""

import pytest

from accounts.models import Membership, OfficialAccount
from tests.accounts.token_support import twin
from tests.factories import make_account, make_brand

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def wired(portal_sandbox, live_server, settings):
    settings.SITE_URL = live_server.url
    settings.WECHAT_SANDBOX = True
    return portal_sandbox


def _owner(brand):
    return Membership.objects.get(brand=brand, role="owner").user


def _connected(sb):
    brand = make_brand()
    account = make_account(brand=brand, verified=True)
    twin(sb, account, token=account.token, encoding_aes_key=account.encoding_aes_key,
         original_id=account.original_id)
    return brand, account


def test_a_successful_test_is_the_last_callback_marked_as_a_test(client, wired):
    brand, account = _connected(wired)
    client.force_login(_owner(brand))
    before = client.get(f"/official-accounts/{account.pk}/").content.decode()
    assert "Waiting for first callback" in before

    body = client.post(f"/official-accounts/{account.pk}/connect/",
                       {"action": "test"}).content.decode()
    assert 'data-testid="test-ok"' in body
    account.refresh_from_db()
    assert account.health == "ok" and account.last_callback_was_test
    assert account.last_callback_at == account.last_test_callback_at

    page = client.get(f"/official-accounts/{account.pk}/").content.decode()
    assert "Waiting for first callback" not in page and "Healthy" in page
    row = page[page.index('data-testid="last-callback"'):][:400]
    assert "(connection test)" in row and "<time" in row
    home = client.get("/").content.decode()
    assert "(connection test)" in home


def test_a_real_push_after_the_test_is_no_longer_marked(client, wired):
    brand, account = _connected(wired)
    client.force_login(_owner(brand))
    client.post(f"/official-accounts/{account.pk}/connect/", {"action": "test"})
    openid = wired.control("POST", f"/accounts/{account.appid}/followers",
                           {"push": False})["openid"]
    sent = wired.control("POST", f"/accounts/{account.appid}/followers/{openid}/send",
                         {"type": "text", "content": "hello", "push": True})
    assert sent["push"]["status"] == 200, sent
    account.refresh_from_db()
    assert not account.last_callback_was_test
    assert account.last_callback_at > account.last_test_callback_at
    page = client.get(f"/official-accounts/{account.pk}/").content.decode()
    assert "(connection test)" not in page


def test_a_failed_round_trip_records_no_callback(client, wired):
    brand, account = _connected(wired)
    wired.control("PATCH", f"/accounts/{account.appid}", {"token": "WhatWeChatHas99"})
    client.force_login(_owner(brand))
    client.post(f"/official-accounts/{account.pk}/connect/", {"action": "test"})
    account = OfficialAccount.objects.get(pk=account.pk)
    assert account.last_callback_at is None and account.last_test_callback_at is None
    assert account.health == "waiting"
