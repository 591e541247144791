"""A fresh API key or a regenerated token/EncodingAESKey is shown once, on the page after
the POST. Session data is signed, not encrypted, so while it waits there it is sealed with
the field-encryption key: the session store never holds the plaintext."""

import json
import re

import pytest
from cryptography.fernet import Fernet
from django.contrib.sessions.models import Session

from accounts.models import ApiKey, Membership, OfficialAccount, hash_token
from tests.factories import make_account, make_brand

pytestmark = pytest.mark.django_db


def _owner(brand):  # noqa: ANN001, ANN202
    return Membership.objects.get(brand=brand, role="owner").user


def _stored_session(client) -> tuple[str, str]:  # noqa: ANN001
    """The session row as the store keeps it, and its decoded content (signing hides
    nothing: anyone who reads the row can decode it)."""
    row = Session.objects.get(session_key=client.cookies["sessionid"].value)
    return row.session_data, json.dumps(row.get_decoded())


def test_a_new_api_key_is_sealed_in_the_session_and_shown_once(client):
    brand = make_brand()
    client.force_login(_owner(brand))

    response = client.post("/api-keys/", {"name": "ERP"})
    assert response.status_code == 302
    raw_row, decoded = _stored_session(client)

    page = client.get("/api-keys/").content.decode()
    assert 'data-testid="fresh-key"' in page
    shown = re.search(r"<code>(bp_[A-Za-z0-9_-]+)</code>", page).group(1)
    assert ApiKey.objects.filter(brand=brand, key_hash=hash_token(shown)).exists()
    assert shown not in raw_row and shown not in decoded
    assert shown[3:] not in decoded  # not even without its prefix

    again = client.get("/api-keys/").content.decode()
    assert 'data-testid="fresh-key"' not in again and shown not in again
    assert shown not in _stored_session(client)[1]


@pytest.mark.parametrize("which", ["token", "encoding_aes_key"])
def test_a_regenerated_callback_secret_is_sealed_in_the_session_and_shown_once(client, which):
    brand = make_brand()
    account = make_account(brand=brand)
    client.force_login(_owner(brand))
    url = f"/official-accounts/{account.pk}/connect/"

    response = client.post(url, {"action": which})
    assert response.status_code == 302
    raw_row, decoded = _stored_session(client)
    value = getattr(OfficialAccount.objects.get(pk=account.pk), which)
    assert value not in raw_row and value not in decoded

    page = client.get(url).content.decode()
    assert f'<code data-testid="fresh-secret-value">{value}</code>' in page
    again = client.get(url).content.decode()
    assert 'data-testid="fresh-secret"' not in again and value not in again


def test_a_sealed_secret_no_key_opens_is_not_shown_and_the_page_still_renders(client, settings):
    # The key was rotated away between the POST and the page: nothing to show, no error.
    brand = make_brand()
    client.force_login(_owner(brand))
    client.post("/api-keys/", {"name": "ERP"})
    settings.FIELD_ENCRYPTION_KEY = Fernet.generate_key().decode()

    response = client.get("/api-keys/")
    assert response.status_code == 200
    assert 'data-testid="fresh-key"' not in response.content.decode()
    assert ApiKey.objects.filter(brand=brand, name="ERP").count() == 1
