"""The account form reports every wrong field at once, each beside its own field: the
form's own checks and the service's rules together, and a service error that names a
field (a taken AppID) beside that field rather than at the top."""

import pytest
from django.test import Client

from accounts.models import Membership, OfficialAccount
from tests.accounts.html_support import Node, parse
from tests.factories import make_account, make_brand

pytestmark = pytest.mark.django_db

VALID = {
    "name": "Lumen Suzhou",
    "appid": "wx00000000000000a1",
    "original_id": "gh_lumensuzhou",
    "kind": "service",
    "connection": "direct",
    "message_mode": "safe",
    "timezone": "Asia/Shanghai",
}
# One wrong value per field, from the form's own checks (name) and the service's (the rest).
WRONG = {
    "name": "",
    "appid": "wx-not-an-appid",
    "original_id": "lumen",
    "timezone": "Mars/Olympus",
    "token": "no!",
    "encoding_aes_key": "too-short",
}
REASONS = {
    "name": "This field is required.",
    "appid": "An AppID is 'wx' followed by 16 hexadecimal characters.",
    "original_id": "An original ID starts with 'gh_'.",
    "timezone": "“Mars/Olympus” is not a time zone. Choose an IANA zone such as Asia/Shanghai.",
    "token": "A token is 3 to 32 letters and digits.",
    "encoding_aes_key": "An EncodingAESKey is 43 letters and digits.",
}


def _signed_in_owner(client: Client) -> Client:
    brand = make_brand()
    client.force_login(Membership.objects.get(brand=brand, role="owner").user)
    client.brand = brand
    return client


def _assert_beside_its_field(page: Node, name: str, reason: str) -> None:
    [wrapper] = page.find_all("div", class_="field", **{"data-field": name})
    [widget] = [n for n in wrapper.walk() if n.attrs.get("name") == name]
    [error] = page.find_all(id=f"id_{name}_error")
    assert error in list(wrapper.walk()), f"the {name} error is not in its field's wrapper"
    assert error.text() == reason
    assert "has-error" in wrapper.attrs["class"].split()
    # The widget points at its error, so a screen reader reads them together.
    assert f"id_{name}_error" in widget.attrs.get("aria-describedby", "").split()
    assert widget.attrs.get("aria-invalid") == "true"


def test_every_wrong_field_is_reported_at_once_beside_itself(client: Client) -> None:
    client = _signed_in_owner(client)
    response = client.post("/official-accounts/new/", {**VALID, **WRONG})
    assert response.status_code == 200
    page = parse(response.content.decode())
    for name, reason in REASONS.items():
        _assert_beside_its_field(page, name, reason)
    # Nothing is reported away from its field, and the right fields are left alone.
    assert page.find_all(class_="errors") == []
    assert page.find_all(id="id_kind_error") == []
    assert not OfficialAccount.objects.filter(brand=client.brand).exists()


def test_a_taken_appid_is_reported_beside_the_appid(client: Client) -> None:
    client = _signed_in_owner(client)
    taken = make_account(brand=make_brand(name="Secret Rival")).appid
    before = OfficialAccount.objects.count()
    response = client.post("/official-accounts/new/", {**VALID, "appid": taken})
    assert response.status_code == 200
    page = parse(response.content.decode())
    _assert_beside_its_field(page, "appid", "An account with this AppID is already connected.")
    assert page.find_all(class_="errors") == []
    assert "Secret Rival" not in response.content.decode()
    assert OfficialAccount.objects.count() == before


def test_editing_reports_every_wrong_field_and_changes_nothing(client: Client) -> None:
    client = _signed_in_owner(client)
    account = make_account(brand=client.brand, name="Lumen Bund", timezone="Asia/Shanghai")
    kept = OfficialAccount.objects.values().get(pk=account.pk)
    response = client.post(f"/official-accounts/{account.pk}/edit/", {**VALID, **WRONG})
    assert response.status_code == 200
    page = parse(response.content.decode())
    for name, reason in REASONS.items():
        _assert_beside_its_field(page, name, reason)
    assert OfficialAccount.objects.values().get(pk=account.pk) == kept
