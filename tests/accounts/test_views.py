import pytest
from django.core import mail

from accounts.models import Membership, OfficialAccount
from tests.factories import PASSWORD, make_account, make_brand, make_member

pytestmark = pytest.mark.django_db


def _owner(brand):
    return Membership.objects.get(brand=brand, role="owner").user


def test_anonymous_users_are_sent_to_sign_in(client):
    response = client.get("/")
    assert response.status_code == 302 and "/auth/login/" in response["Location"]


def test_sign_in_with_email_and_password(client):
    brand = make_brand(name="Sign-in brand")
    owner = _owner(brand)
    client.get("/auth/login/")
    response = client.post("/auth/login/", {"login": owner.email, "password": PASSWORD})
    assert response.status_code == 302
    assert "Sign-in brand" in client.get("/").content.decode()


def test_creating_an_account_shows_the_connection_details_once(client):
    brand = make_brand()
    client.force_login(_owner(brand))
    response = client.post(
        "/official-accounts/new/",
        {"name": "Lumen Xi'an", "appid": "wx00000000000000b2", "kind": "service",
         "connection": "direct", "message_mode": "safe", "timezone": "Asia/Shanghai",
         "is_active": "on", "app_secret": "very-secret-app-secret"},
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    account = OfficialAccount.objects.get(appid="wx00000000000000b2")
    first = client.get(response["Location"]).content.decode()
    assert account.token in first and account.encoding_aes_key in first
    second = client.get(response["Location"]).content.decode()
    assert account.token not in second and account.encoding_aes_key not in second
    assert "very-secret-app-secret" not in first + second


def test_the_edit_form_never_renders_stored_secrets(client):
    brand = make_brand()
    account = make_account(brand=brand, app_secret="stored-secret-value")
    client.force_login(_owner(brand))
    page = client.get(f"/official-accounts/{account.pk}/edit/").content.decode()
    for secret in ("stored-secret-value", account.token, account.encoding_aes_key):
        assert secret not in page


def test_an_agent_cannot_open_the_account_form(client):
    brand = make_brand()
    agent = make_member(brand=brand)
    client.force_login(agent.user)
    assert client.get("/official-accounts/new/").status_code == 403


def test_inviting_and_accepting_as_a_new_user(client, django_capture_on_commit_callbacks):
    brand = make_brand(name="Invite brand")
    account = make_account(brand=brand)
    client.force_login(_owner(brand))
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            "/members/", {"email": "newbie@example.com", "role": "agent",
                          "accounts": [account.pk]}
        )
    assert response.status_code == 302
    link = next(w for w in mail.outbox[0].body.split() if "/invite/" in w)
    path = link[link.index("/invite/"):]
    client.logout()
    page = client.get(path)
    assert page.status_code == 200 and "newbie@example.com" in page.content.decode()
    response = client.post(path, {"name": "New Bie", "password": "a-long-enough-pass"})
    assert response.status_code == 302
    membership = Membership.objects.get(user__email="newbie@example.com")
    assert membership.role == "agent" and list(membership.accounts.all()) == [account]
    assert client.get(path).status_code == 404  # used up


def test_an_unknown_invitation_is_404(client):
    assert client.get("/invite/inv_nope/").status_code == 404


def test_owner_can_require_two_factor_and_members_are_sent_to_set_it_up(client):
    brand = make_brand()
    owner = _owner(brand)
    client.force_login(owner)
    response = client.post("/settings/", {"require_mfa": "on", "account_name_pattern": ""})
    assert response.status_code == 302
    brand.refresh_from_db()
    assert brand.require_mfa
    agent = make_member(brand=brand)
    client.force_login(agent.user)
    response = client.get("/")
    assert response.status_code == 302 and "/auth/2fa/totp/activate" in response["Location"]
    assert client.get(response["Location"], follow=True).status_code == 200


def test_an_admin_cannot_reach_brand_settings(client):
    brand = make_brand()
    client.force_login(make_member(brand=brand, role="admin").user)
    assert client.get("/settings/").status_code == 403


def test_api_key_is_shown_once_in_the_ui(client):
    brand = make_brand()
    client.force_login(_owner(brand))
    client.post("/api-keys/", {"name": "ERP"})
    first = client.get("/api-keys/").content.decode()
    assert "bp_" in first and 'data-testid="fresh-key"' in first
    second = client.get("/api-keys/").content.decode()
    assert 'data-testid="fresh-key"' not in second


def test_the_language_switch_renders_chinese(client):
    brand = make_brand()
    client.force_login(_owner(brand))
    client.post("/i18n/setlang/", {"language": "zh-hans", "next": "/"})
    page = client.get("/").content.decode()
    assert "公众号" in page
