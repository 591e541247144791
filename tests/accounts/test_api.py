import pytest

from accounts.models import OfficialAccount
from accounts.services import api_key_create
from tests.factories import make_account, make_brand

pytestmark = pytest.mark.django_db


@pytest.fixture
def api(client):
    brand = make_brand(name="API brand")
    _key, raw = api_key_create(brand=brand, name="integration")
    client.defaults["HTTP_AUTHORIZATION"] = f"Bearer {raw}"
    client.brand = brand
    return client


def test_no_key_or_a_bad_key_is_401(client):
    assert client.get("/api/v1/accounts/").status_code in (401, 403)
    response = client.get("/api/v1/accounts/", HTTP_AUTHORIZATION="Bearer bp_not-a-key")
    assert response.status_code == 401
    assert "Invalid" in response.json()["detail"]


@pytest.mark.parametrize("header", [" ", "\t", "Bearer", "Bearer  a b"])
def test_a_blank_or_broken_authorization_header_is_refused_not_a_500(client, header):
    response = client.get("/api/v1/accounts/", HTTP_AUTHORIZATION=header)
    assert response.status_code in (401, 403)
    assert "detail" in response.json()


def test_create_shows_connection_details_once_and_never_again(api):
    response = api.post(
        "/api/v1/accounts/",
        {"name": "Lumen Suzhou", "appid": "wx00000000000000a1", "kind": "service",
         "app_secret": "app-secret-value-123"},
        content_type="application/json",
    )
    assert response.status_code == 201, response.content
    body = response.json()
    details = body["connection_details"]
    assert len(details["token"]) == 32 and len(details["encoding_aes_key"]) == 43
    assert details["callback_url"].endswith("/wechat/wx00000000000000a1/callback/")
    again = api.get(f"/api/v1/accounts/{body['id']}/").content.decode()
    for secret in (details["token"], details["encoding_aes_key"], "app-secret-value-123"):
        assert secret not in again
    assert "connection_details" not in again
    assert OfficialAccount.objects.get(pk=body["id"]).app_secret == "app-secret-value-123"


def test_patch_with_a_secret_changes_it_without_echoing_it(api):
    account = make_account(brand=api.brand)
    response = api.patch(
        f"/api/v1/accounts/{account.pk}/",
        {"app_secret": "brand-new-secret-xyz"},
        content_type="application/json",
    )
    assert response.status_code == 200
    assert "brand-new-secret-xyz" not in response.content.decode()
    account.refresh_from_db()
    assert account.app_secret == "brand-new-secret-xyz"


def test_invalid_input_is_400_with_a_reason_and_nothing_is_created(api):
    before = OfficialAccount.objects.count()
    response = api.post(
        "/api/v1/accounts/", {"name": "x", "appid": "bogus"}, content_type="application/json"
    )
    assert response.status_code == 400
    assert "AppID" in response.json()["appid"][0]
    assert OfficialAccount.objects.count() == before


def test_a_taken_appid_is_409_without_naming_the_other_brand(api):
    other = make_account(brand=make_brand(name="Secret Rival"))
    response = api.post(
        "/api/v1/accounts/", {"name": "x", "appid": other.appid}, content_type="application/json"
    )
    assert response.status_code == 409
    assert "Secret Rival" not in response.content.decode()


def test_accounts_list_paginates_and_filters(api):
    for word in ("Alpha", "Beta", "Gamma"):
        make_account(brand=api.brand, name=f"Service {word}", kind="service")
    make_account(brand=api.brand, name="Stories", kind="subscription")
    page = api.get("/api/v1/accounts/?page_size=2").json()
    assert page["count"] == 4 and len(page["results"]) == 2 and page["next"]
    subs = api.get("/api/v1/accounts/?kind=subscription").json()
    assert [a["name"] for a in subs["results"]] == ["Stories"]
    found = api.get("/api/v1/accounts/?search=beta").json()
    assert [a["name"] for a in found["results"]] == ["Service Beta"]


def test_teams_and_members_endpoints_work_for_a_key(api):
    account = make_account(brand=api.brand)
    created = api.post(
        "/api/v1/teams/",
        {"name": "Night shift", "accounts": [account.pk], "is_central": True},
        content_type="application/json",
    )
    assert created.status_code == 201
    assert created.json()["accounts"] == [account.pk]
    members = api.get("/api/v1/members/?role=owner").json()
    assert members["count"] == 1
    invite = api.post(
        "/api/v1/invitations/",
        {"email": "new@example.com", "role": "agent", "accounts": [account.pk]},
        content_type="application/json",
    )
    assert invite.status_code == 201


def test_the_openapi_schema_and_docs_page_are_served(client):
    schema = client.get("/api/schema/")
    assert schema.status_code == 200
    assert b"/api/v1/accounts/" in schema.content
    assert client.get("/api/docs/").status_code == 200
