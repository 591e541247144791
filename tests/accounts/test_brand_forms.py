"""The brand pages speak to people: every form error beside its field, titles that name
the page and the brand, destructive actions confirmed with what they do, sign-ins that
land where the member works, errors in sentences, and a sign-in page that says how to
join."""

import logging

import pytest
from django.conf import settings
from django.contrib.admin.sites import site as admin_site
from django.test import Client, RequestFactory

from accounts.admin import OfficialAccountAdmin
from accounts.models import ApiKey, Invitation, Membership, OfficialAccount, Team
from accounts.services import api_key_create
from tests.accounts.html_support import error_beside, page_of
from tests.factories import (
    PASSWORD,
    make_account,
    make_brand,
    make_conversation,
    make_member,
    make_team,
    make_user,
)

pytestmark = pytest.mark.django_db


def _signed_in(client: Client, role: str = "owner", *, brand=None, language: str = "en"):  # noqa: ANN001, ANN202
    brand = brand or make_brand(name="Lumen Hotels Group")
    if role == "owner":
        user = Membership.objects.get(brand=brand, role="owner").user
    else:
        user = make_member(brand=brand, role=role).user
    client.force_login(user)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = language
    return brand


# --- 1. every error beside its field, on every form --------------------------------------


def test_team_form_shows_a_taken_name_beside_the_name(client):
    brand = _signed_in(client)
    make_team(brand=brand, name="Concierge")
    before = Team.objects.count()
    page = page_of(client.post("/teams/", {"name": "Concierge"}))
    assert error_beside(page, "name") == "A team with this name exists."
    assert not page.find_all(class_="errors")
    assert Team.objects.count() == before


def test_a_managers_team_without_accounts_is_told_so_beside_accounts(client):
    brand = make_brand()
    account = make_account(brand=brand)
    manager = make_member(brand=brand, role="manager", accounts=[account]).user
    client.force_login(manager)
    page = page_of(client.post("/teams/", {"name": "Night desk"}))
    assert error_beside(page, "accounts") == "Choose the accounts this team answers for."
    assert not Team.objects.filter(name="Night desk").exists()


def test_invitation_form_shows_member_and_role_errors_beside_their_fields(client):
    brand = _signed_in(client, "admin")
    member = make_member(brand=brand, role="agent").user
    page = page_of(client.post("/members/", {"email": member.email, "role": "agent"}))
    assert error_beside(page, "email") == "This person is already a member of the brand."
    # An admin choosing "owner" is answered beside the role, not with a 403 page.
    page = page_of(client.post("/members/", {"email": "new@example.com", "role": "owner"}))
    assert error_beside(page, "role") == "Only an owner can make someone an owner."
    assert not Invitation.objects.filter(brand=brand).exists()


def test_member_form_answers_an_admin_choosing_owner_beside_the_role(client):
    brand = _signed_in(client, "admin")
    agent = make_member(brand=brand, role="agent")
    page = page_of(client.post(f"/members/{agent.pk}/edit/", {"role": "owner", "capacity": "5"}))
    assert error_beside(page, "role") == "Only an owner can make someone an owner."
    agent.refresh_from_db()
    assert agent.role == "agent"


def test_member_form_reports_the_role_and_the_capacity_at_once(client):
    brand = _signed_in(client, "admin")
    agent = make_member(brand=brand, role="agent")
    page = page_of(client.post(f"/members/{agent.pk}/edit/", {"role": "owner", "capacity": ""}))
    assert error_beside(page, "role") == "Only an owner can make someone an owner."
    assert error_beside(page, "capacity") == "This field is required."


def test_invitation_form_reports_the_address_and_the_role_at_once(client):
    brand = _signed_in(client, "admin")
    page = page_of(client.post("/members/", {"email": "not-an-address", "role": "owner"}))
    assert error_beside(page, "email") == "Enter a valid email address."
    assert error_beside(page, "role") == "Only an owner can make someone an owner."
    assert not Invitation.objects.filter(brand=brand).exists()


def test_team_form_reports_a_taken_name_and_missing_accounts_at_once(client):
    brand = make_brand()
    account = make_account(brand=brand)
    make_team(brand=brand, name="Concierge", accounts=[account])
    client.force_login(make_member(brand=brand, role="manager", accounts=[account]).user)
    page = page_of(client.post("/teams/", {"name": "Concierge"}))
    assert error_beside(page, "name") == "A team with this name exists."
    assert error_beside(page, "accounts") == "Choose the accounts this team answers for."
    assert Team.objects.filter(brand=brand).count() == 1


def test_editing_a_team_may_keep_its_own_name(client):
    brand = _signed_in(client)
    team = make_team(brand=brand, name="Concierge")
    make_team(brand=brand, name="Bookings")
    page = page_of(client.post(f"/teams/{team.pk}/edit/", {"name": "Bookings"}))
    assert error_beside(page, "name") == "A team with this name exists."
    assert client.post(f"/teams/{team.pk}/edit/", {"name": "Concierge", "languages": ["en"]}
                       ).status_code == 302
    team.refresh_from_db()
    assert team.languages == ["en"]


def test_brand_settings_show_a_bad_pattern_beside_it(client):
    brand = _signed_in(client)
    page = page_of(client.post("/settings/", {
        "account_name_pattern": "Lumen (", "time_zone": "Asia/Shanghai",
    }))
    assert error_beside(page, "account_name_pattern") == (
        "The naming convention is not a valid pattern."
    )
    brand.refresh_from_db()
    assert brand.account_name_pattern == ""


def test_api_key_form_shows_a_missing_name_beside_it(client):
    _signed_in(client)
    page = page_of(client.post("/api-keys/", {"name": "  "}))
    assert error_beside(page, "name") == "This field is required."
    # The browser leaves blank names to the server, which says it beside the field.
    [form] = page.find_all("form", **{"data-testid": "api-key-form"})
    assert "novalidate" in form.attrs
    assert not ApiKey.objects.exists()


@pytest.mark.parametrize("path", ["/members/", "/teams/", "/api-keys/", "/settings/"])
def test_no_form_lets_the_browser_stop_at_the_first_empty_field(client, path):
    _signed_in(client)
    page = page_of(client.get(path))
    forms = [f for f in page.find_all("form", class_="form")]
    assert forms and all("novalidate" in f.attrs for f in forms)


def test_the_member_edit_form_reports_at_once_too(client):
    brand = _signed_in(client)
    agent = make_member(brand=brand, role="agent")
    page = page_of(client.get(f"/members/{agent.pk}/edit/"))
    [form] = page.find_all("form", class_="form")
    assert "novalidate" in form.attrs


def test_a_new_account_is_not_told_to_keep_a_secret_it_does_not_have(client):
    brand = _signed_in(client)
    new = client.get("/official-accounts/new/").content.decode()
    assert "Leave blank to keep the current secret." not in new
    assert "You can also add it later in the connection wizard." in new
    account = make_account(brand=brand)
    edit = client.get(f"/official-accounts/{account.pk}/edit/").content.decode()
    assert "Leave blank to keep the current secret." in edit


def test_the_new_account_hint_is_translated(client):
    _signed_in(client, language="zh-hans")
    new = client.get("/official-accounts/new/").content.decode()
    assert "也可以稍后在接入向导中填写" in new


# --- 2. titles that name the page and the brand ------------------------------------------


def _titles(client: Client, path: str) -> tuple[str, str]:
    page = page_of(client.get(path))
    [title] = page.find_all("title")
    [h1] = page.find_all("h1")
    return title.text(), h1.text()


TITLED = {
    "/": ("Official accounts", "公众号"),
    "/official-accounts/new/": ("Add account", "添加公众号"),
    "/members/": ("Members", "成员"),
    "/teams/": ("Teams", "团队"),
    "/api-keys/": ("API keys", "API 密钥"),
    "/settings/": ("Brand settings", "品牌设置"),
}


@pytest.mark.parametrize(("path", "english"), [(p, e) for p, (e, _zh) in TITLED.items()])
def test_every_brand_page_is_titled_page_then_brand(client, path, english):
    _signed_in(client)
    assert _titles(client, path) == (f"{english} · Lumen Hotels Group", english)


def test_the_titles_are_translated(client):
    _signed_in(client, language="zh-hans")
    for path, (_english, chinese) in TITLED.items():
        assert _titles(client, path) == (f"{chinese} · Lumen Hotels Group", chinese), path


def test_pages_about_one_thing_name_it(client):
    brand = _signed_in(client)
    account = make_account(brand=brand, name="Lumen Shanghai Bund")
    team = make_team(brand=brand, name="Concierge")
    lily = make_member(brand=brand, role="agent", user=make_user(name="Lily"))
    assert _titles(client, f"/official-accounts/{account.pk}/edit/") == (
        "Edit Lumen Shanghai Bund · Lumen Hotels Group", "Edit Lumen Shanghai Bund")
    assert _titles(client, f"/teams/{team.pk}/edit/") == (
        "Edit Concierge · Lumen Hotels Group", "Edit Concierge")
    assert _titles(client, f"/members/{lily.pk}/edit/") == (
        "Edit Lily · Lumen Hotels Group", "Edit Lily")
    assert _titles(client, f"/official-accounts/{account.pk}/") == (
        "Lumen Shanghai Bund · Lumen Hotels Group", "Lumen Shanghai Bund")


def test_the_console_and_the_sign_in_page_are_titled(client):
    _signed_in(client)
    console = page_of(client.get("/console/"))
    assert console.find_all("title")[0].text() == "Console · Lumen Hotels Group"
    client.logout()
    login = page_of(client.get("/auth/login/"))
    assert login.find_all("title")[0].text() == "Sign In · Brand Portal"


# --- 3. destructive actions ask first and say what happens --------------------------------


def test_removing_a_member_asks_first_and_says_what_happens(client):
    brand = _signed_in(client, "admin")
    account = make_account(brand=brand)
    lily = make_member(brand=brand, role="agent", user=make_user(name="Lily"))
    lily.teams.add(make_team(brand=brand, name="Concierge"))
    make_conversation(account=account, assignee=lily)
    make_conversation(account=account, assignee=lily)
    make_conversation(account=account, assignee=lily, status="resolved")

    page = page_of(client.get(f"/members/{lily.pk}/remove/"))
    [h1] = page.find_all("h1")
    assert h1.text() == "Remove Lily from Lumen Hotels Group?"
    [said] = page.find_all(**{"data-testid": "consequences"})
    assert "Lily loses access at once" in said.text()
    assert "Their 2 open conversations become unassigned" in said.text()
    assert "They leave 1 team." in said.text()
    [form] = page.find_all("form", **{"data-testid": "confirm-form"})
    assert form.attrs["method"] == "post" and form.attrs["action"] == f"/members/{lily.pk}/remove/"
    assert form.find_all("input", name="csrfmiddlewaretoken")
    assert Membership.objects.filter(pk=lily.pk).exists()  # asking changed nothing

    assert client.post(f"/members/{lily.pk}/remove/").status_code == 302
    assert not Membership.objects.filter(pk=lily.pk).exists()


def test_deleting_a_team_asks_first_and_says_what_happens(client):
    brand = _signed_in(client)
    account = make_account(brand=brand)
    team = make_team(brand=brand, name="Concierge")
    make_member(brand=brand, role="agent").teams.add(team)
    make_conversation(account=account, team=team)

    page = page_of(client.get(f"/teams/{team.pk}/delete/"))
    assert page.find_all("h1")[0].text() == "Delete the team Concierge?"
    said = page.find_all(**{"data-testid": "consequences"})[0].text()
    assert "Its 1 member stays in the brand and only leaves this team." in said
    assert "Its 1 open conversation keeps its account and assignee" in said
    assert Team.objects.filter(pk=team.pk).exists()

    assert client.post(f"/teams/{team.pk}/delete/").status_code == 302
    assert not Team.objects.filter(pk=team.pk).exists()


def test_revoking_a_key_asks_first_and_says_what_happens(client):
    brand = _signed_in(client)
    key, _raw = api_key_create(brand=brand, name="CRM sync")
    page = page_of(client.get(f"/api-keys/{key.pk}/revoke/"))
    assert page.find_all("h1")[0].text() == "Revoke the key CRM sync?"
    said = page.find_all(**{"data-testid": "consequences"})[0].text()
    assert f"({key.prefix}…) are refused from their next request" in said
    key.refresh_from_db()
    assert key.revoked_at is None

    assert client.post(f"/api-keys/{key.pk}/revoke/").status_code == 302
    key.refresh_from_db()
    assert key.revoked_at is not None


def test_the_lists_link_to_the_confirmation_instead_of_acting(client):
    brand = _signed_in(client)
    agent = make_member(brand=brand, role="agent")
    team = make_team(brand=brand)
    key, _raw = api_key_create(brand=brand, name="CRM sync")
    for path, target in [("/members/", f"/members/{agent.pk}/remove/"),
                         ("/teams/", f"/teams/{team.pk}/delete/"),
                         ("/api-keys/", f"/api-keys/{key.pk}/revoke/")]:
        page = page_of(client.get(path))
        assert page.find_all("a", href=target), path
        assert not page.find_all("form", action=target), path


def test_the_confirmation_is_translated(client):
    brand = _signed_in(client, language="zh-hans")
    lily = make_member(brand=brand, role="agent", user=make_user(name="Lily"))
    page = page_of(client.get(f"/members/{lily.pk}/remove/"))
    assert page.find_all("h1")[0].text() == "要将 Lily 从 Lumen Hotels Group 移除吗？"
    assert "其名下没有未结束的会话" in page.find_all(**{"data-testid": "consequences"})[0].text()


def test_agents_and_other_brands_cannot_open_the_confirmations(client):
    brand = make_brand()
    team = make_team(brand=brand)
    key, _raw = api_key_create(brand=brand, name="CRM sync")
    target = make_member(brand=brand, role="agent")
    agent = make_member(brand=brand, role="agent")
    client.force_login(agent.user)
    assert client.get(f"/teams/{team.pk}/delete/").status_code == 403
    assert client.get(f"/api-keys/{key.pk}/revoke/").status_code == 403
    # An agent sees only their own membership: another one is "not found".
    assert client.get(f"/members/{target.pk}/remove/").status_code == 404
    assert client.get(f"/members/{agent.pk}/remove/").status_code == 403
    _signed_in(client)  # the owner of another brand
    for path in (f"/teams/{team.pk}/delete/", f"/api-keys/{key.pk}/revoke/",
                 f"/members/{target.pk}/remove/"):
        assert client.get(path).status_code == 404, path


# --- 4. where a sign-in lands -------------------------------------------------------------


def test_a_sign_in_lands_where_the_member_works(client):
    brand = make_brand()
    landings = {}
    for role in ("agent", "manager", "admin", "owner"):
        user = (Membership.objects.get(brand=brand, role="owner").user if role == "owner"
                else make_member(brand=brand, role=role).user)
        response = Client().post("/auth/login/", {"login": user.email, "password": PASSWORD})
        assert response.status_code == 302
        landings[role] = response["Location"]
    assert landings == {"agent": "/console/", "manager": "/", "admin": "/", "owner": "/"}


def test_next_still_wins_over_an_agents_landing(client):
    brand = make_brand()
    agent = make_member(brand=brand, role="agent").user
    plain = Client().post("/auth/login/", {"login": agent.email, "password": PASSWORD})
    assert plain["Location"] == "/console/"
    response = client.post("/auth/login/?next=/teams/",
                           {"login": agent.email, "password": PASSWORD})
    assert response["Location"] == "/teams/"


# --- 5. errors in sentences ---------------------------------------------------------------


@pytest.fixture
def sandbox_wired(portal_sandbox, settings):
    settings.WECHAT_SANDBOX = True
    return portal_sandbox


def test_an_account_the_sandbox_does_not_know_gets_a_sentence_and_a_fix(
    client, sandbox_wired, caplog
):
    brand = _signed_in(client)
    account = make_account(brand=brand, app_secret="a-secret-for-nobody")
    with caplog.at_level(logging.WARNING, logger="accounts.connection"):
        body = client.post(f"/official-accounts/{account.pk}/connect/",
                           {"action": "test"}).content.decode()
    assert f"The WeChat sandbox has no account with the AppID {account.appid}." in body
    assert "register the account on the sandbox first" in body
    assert "could not be asked" not in body and "Client Error" not in body
    assert "/_sandbox/" not in body
    # The details are for the log.
    [logged] = [r for r in caplog.records if r.getMessage() == "sandbox callback check failed"]
    assert "404" in logged.error and "/_sandbox/accounts/" in logged.error


def test_a_sandbox_that_does_not_answer_says_how_to_start_it(client, settings):
    settings.WECHAT_SANDBOX = True
    settings.WECHAT_API_BASE = "http://127.0.0.1:9"  # nothing listens on discard
    brand = _signed_in(client, language="zh-hans")
    account = make_account(brand=brand, app_secret="a-secret-for-nobody")
    body = client.post(f"/official-accounts/{account.pk}/connect/",
                       {"action": "test"}).content.decode()
    assert "微信沙盒没有响应。" in body and "python -m wechat.sandbox" in body
    assert "127.0.0.1:9" not in body


def test_the_last_error_shows_no_placeholder_for_a_missing_time(client):
    brand = _signed_in(client)
    account = make_account(brand=brand)
    OfficialAccount.objects.filter(pk=account.pk).update(last_error_code=40013)
    page = page_of(client.get(f"/official-accounts/{account.pk}/"))
    [last] = page.find_all(**{"data-testid": "last-error"})
    assert "WeChat does not know this AppID." in last.text()
    assert "(WeChat code 40013)" in last.text()
    assert "None" not in last.text() and "errcode" not in last.text()


def test_the_admin_health_column_shows_words(rf: RequestFactory):
    brand = make_brand()
    waiting = make_account(brand=brand, app_secret="s" * 32)
    off = make_account(brand=brand, is_active=False)
    model_admin = OfficialAccountAdmin(OfficialAccount, admin_site)
    assert "health" not in model_admin.list_display
    assert model_admin.health_words(waiting) == "Waiting for first callback"
    assert model_admin.health_words(off) == "Not connected"


# --- 6. the sign-in page says how to join -------------------------------------------------


def test_the_sign_in_page_does_not_invite_to_sign_up(client):
    page = client.get("/auth/login/").content.decode()
    assert "sign up" not in page.lower() and "/auth/signup/" not in page
    assert "Members join by invitation" in page


def test_the_sign_in_page_says_it_in_chinese(client):
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "zh-hans"
    page = client.get("/auth/login/").content.decode()
    assert "成员通过邀请加入" in page and "注册" not in page
