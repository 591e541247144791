"""The connection wizard of an account connected by authorization shows what the
authorization gives, not a direct connection's server configuration and AppSecret."""

import pytest
from django.utils import timezone

from accounts.models import Membership
from tests.factories import make_account, make_brand

pytestmark = pytest.mark.django_db


def _owner(brand):
    return Membership.objects.get(brand=brand, role="owner").user


def _authorized(brand, **fields):
    account = make_account(brand=brand, connection="platform", app_secret="", verified=True,
                           **fields)
    # As the authorization flow leaves it: the platform's token and key serve it.
    account.token = account.encoding_aes_key = ""
    account.granted_bundles = [1, 2, 7]
    account.save()
    return account


def test_the_wizard_shows_the_bundles_and_the_reauthorize_link(client):
    brand = make_brand()
    account = _authorized(brand)
    client.force_login(_owner(brand))
    page = client.get(f"/official-accounts/{account.pk}/connect/").content.decode()
    assert 'data-testid="step-authorization"' in page
    bundles = page[page.index('data-testid="granted-bundles"'):][:300]
    assert "Message management (1)" in bundles and "User management (2)" in bundles
    assert "Broadcast &amp; notification (7)" in bundles
    assert 'href="/official-accounts/authorize/"' in page and 'data-testid="reauthorize"' in page
    # Nothing to paste and no secret to enter.
    for absent in ('data-testid="step-server"', 'data-testid="step-credentials"',
                   "Save AppSecret", "Basic configuration > Server configuration",
                   'name="app_secret"'):
        assert absent not in page


def test_a_withdrawn_authorization_says_so_in_the_wizard(client):
    brand = make_brand()
    account = _authorized(brand)
    account.disconnected_at = timezone.now()
    account.disconnect_reason = "The account withdrew its authorization."
    account.granted_bundles = []
    account.save()
    client.force_login(_owner(brand))
    page = client.get(f"/official-accounts/{account.pk}/connect/").content.decode()
    status = page[page.index('data-testid="authorization-status"'):][:300]
    assert "Disconnected</span>: The account withdrew its authorization." in status
    bundles = page[page.index('data-testid="granted-bundles"'):][:80]
    assert "—" in bundles


def test_an_authorized_account_takes_no_app_secret_or_callback_secrets(client):
    brand = make_brand()
    account = _authorized(brand)
    client.force_login(_owner(brand))
    for action in ("secret", "token", "encoding_aes_key"):
        response = client.post(f"/official-accounts/{account.pk}/connect/",
                               {"action": action, "app_secret": "x" * 32})
        assert response.status_code == 404
    account.refresh_from_db()
    assert (account.app_secret, account.token, account.encoding_aes_key) == ("", "", "")


def test_a_direct_account_keeps_its_server_configuration_steps(client):
    brand = make_brand()
    account = make_account(brand=brand)
    client.force_login(_owner(brand))
    page = client.get(f"/official-accounts/{account.pk}/connect/").content.decode()
    assert 'data-testid="step-server"' in page and 'data-testid="step-credentials"' in page
    assert 'data-testid="step-authorization"' not in page


def test_blank_secret_rows_show_a_dash(client):
    brand = make_brand()
    account = _authorized(brand)
    client.force_login(_owner(brand))
    detail = client.get(f"/official-accounts/{account.pk}/").content.decode()
    facts = detail[detail.index("<dt>AppSecret</dt>"):]
    facts = facts[:facts.index("<dt>Time zone</dt>")]
    assert facts.count("<dd>—</dd>") == 3  # AppSecret, token, EncodingAESKey
