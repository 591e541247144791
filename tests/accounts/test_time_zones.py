"""An account's time zone is a real IANA zone, whichever way it is written: the brand page
(a select of zones), the REST API, the service and the Django admin's model validation."""

import pytest
from django.core.exceptions import ValidationError
from django.test import Client

from accounts import services
from accounts.errors import InvalidInput
from accounts.models import Membership, OfficialAccount
from accounts.services import api_key_create
from tests.accounts.html_support import parse
from tests.factories import make_account, make_brand, owner_scope

pytestmark = pytest.mark.django_db

MARS = "“Mars/Olympus” is not a time zone. Choose an IANA zone such as Asia/Shanghai."


@pytest.fixture
def api(client: Client) -> Client:
    brand = make_brand()
    _key, raw = api_key_create(brand=brand, name="integration")
    client.defaults["HTTP_AUTHORIZATION"] = f"Bearer {raw}"
    client.brand = brand
    return client


def _owner(client: Client, brand: object) -> Client:
    client.force_login(Membership.objects.get(brand=brand, role="owner").user)
    return client


def test_the_service_refuses_a_made_up_zone_and_keeps_the_old_one() -> None:
    brand = make_brand()
    with pytest.raises(InvalidInput) as refused:
        make_account(brand=brand, timezone="Mars/Olympus")
    assert refused.value.fields == {"timezone": [MARS]}
    assert not OfficialAccount.objects.filter(brand=brand).exists()

    account = make_account(brand=brand, timezone="Europe/Paris")
    with pytest.raises(InvalidInput):
        services.account_update(scope=owner_scope(brand), account=account,
                                timezone="Mars/Olympus")
    account.refresh_from_db()
    assert account.timezone == "Europe/Paris"


def test_the_api_answers_400_on_the_field_and_saves_nothing(api: Client) -> None:
    response = api.post(
        "/api/v1/accounts/",
        {"name": "Lumen Mars", "appid": "wx00000000000000b1", "timezone": "Mars/Olympus"},
        content_type="application/json",
    )
    assert response.status_code == 400
    [reason] = response.json()["timezone"]  # on the field, naming the value
    assert "Mars/Olympus" in reason
    assert not OfficialAccount.objects.filter(brand=api.brand).exists()

    account = make_account(brand=api.brand, timezone="Asia/Tokyo")
    response = api.patch(f"/api/v1/accounts/{account.pk}/", {"timezone": "Mars/Olympus"},
                         content_type="application/json")
    assert response.status_code == 400
    assert "Mars/Olympus" in response.json()["timezone"][0]
    account.refresh_from_db()
    assert account.timezone == "Asia/Tokyo"

    response = api.patch(f"/api/v1/accounts/{account.pk}/", {"timezone": "America/Sao_Paulo"},
                         content_type="application/json")
    assert response.status_code == 200, response.content
    account.refresh_from_db()
    assert account.timezone == "America/Sao_Paulo"


def test_the_form_offers_the_zones_by_region_with_the_current_one_selected(
    client: Client,
) -> None:
    brand = make_brand()
    account = make_account(brand=brand, timezone="Asia/Shanghai")
    page = parse(_owner(client, brand).get(f"/official-accounts/{account.pk}/edit/")
                 .content.decode())
    [select] = page.find_all("select", name="timezone")
    [asia] = select.find_all("optgroup", label="Asia")
    [chosen] = select.find_all("option", selected="")
    assert (chosen.attrs["value"], chosen.text()) == ("Asia/Shanghai", "Asia/Shanghai")
    assert chosen in list(asia.walk())
    values = {o.attrs["value"] for o in select.find_all("option")}
    assert {"UTC", "Europe/Paris", "America/Argentina/Buenos_Aires"} <= values
    assert "localtime" not in values


def test_a_new_account_starts_on_the_default_zone(client: Client) -> None:
    page = parse(_owner(client, make_brand()).get("/official-accounts/new/").content.decode())
    [chosen] = page.find_all("select", name="timezone")[0].find_all("option", selected="")
    assert chosen.attrs["value"] == "Asia/Shanghai"


def test_the_form_refuses_a_made_up_zone_and_saves_a_real_one(client: Client) -> None:
    brand = make_brand()
    account = make_account(brand=brand, name="Lumen Bund", timezone="Asia/Shanghai")
    client = _owner(client, brand)
    form = {"name": "Lumen Bund", "appid": account.appid, "original_id": account.original_id,
            "kind": "service", "connection": "direct", "message_mode": "safe"}
    response = client.post(f"/official-accounts/{account.pk}/edit/",
                           {**form, "timezone": "Mars/Olympus"})
    assert response.status_code == 200
    [error] = parse(response.content.decode()).find_all(id="id_timezone_error")
    assert error.text() == MARS
    account.refresh_from_db()
    assert account.timezone == "Asia/Shanghai"

    response = client.post(f"/official-accounts/{account.pk}/edit/",
                           {**form, "timezone": "Europe/Paris"})
    assert response.status_code == 302
    account.refresh_from_db()
    assert account.timezone == "Europe/Paris"


def test_a_zone_saved_before_the_check_is_shown_and_must_be_replaced(client: Client) -> None:
    brand = make_brand()
    account = make_account(brand=brand)
    OfficialAccount.objects.filter(pk=account.pk).update(timezone="Mars/Olympus")
    page = parse(_owner(client, brand).get(f"/official-accounts/{account.pk}/edit/")
                 .content.decode())
    # Still selected, so saving the page cannot silently move the account to Africa/Abidjan.
    [chosen] = page.find_all("select", name="timezone")[0].find_all("option", selected="")
    assert chosen.attrs["value"] == "Mars/Olympus"


def test_model_validation_refuses_it_too() -> None:
    # The Django admin and any ModelForm run the field's validator.
    account = make_account(brand=make_brand())
    account.timezone = "Mars/Olympus"
    with pytest.raises(ValidationError) as refused:
        account.full_clean()
    assert refused.value.message_dict == {"timezone": [MARS]}
