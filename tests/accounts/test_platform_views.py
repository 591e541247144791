"""Who may start and complete an authorization, and what they see when it cannot be done."""

from __future__ import annotations

import pytest

from accounts.models import OfficialAccount, PendingAuthorization
from accounts.platform_views import SESSION_PENDING_KEY
from tests.accounts.platform_support import make_platform, push_ticket

pytestmark = pytest.mark.django_db


@pytest.fixture
def platform(portal_sandbox, settings):
    settings.WECHAT_CONSENT_URL = f"{portal_sandbox.base_url}/cgi-bin/componentloginpage"
    platform = make_platform(portal_sandbox)
    platform.verify_ticket = push_ticket(portal_sandbox, platform)["ticket"]
    platform.save()
    return platform


@pytest.mark.parametrize("role", ["agent_a", "manager_a"])
def test_only_admins_may_start_or_complete_an_authorization(client, two_brands, platform, role):
    client.force_login(two_brands[role].user)
    assert client.get("/official-accounts/authorize/").status_code == 403
    assert client.get("/official-accounts/authorize/return/?auth_code=x").status_code == 403
    assert PendingAuthorization.objects.count() == 0


def test_an_owner_may_start_one(client, two_brands, platform):
    owner = two_brands["brand_a"].memberships.get(role="owner").user
    client.force_login(owner)
    response = client.get("/official-accounts/authorize/")
    assert response.status_code == 302
    assert client.session[SESSION_PENDING_KEY] == PendingAuthorization.objects.get().pk


def test_anonymous_visitors_are_sent_to_sign_in(client, platform):
    response = client.get("/official-accounts/authorize/")
    assert response.status_code == 302 and response["Location"].startswith("/auth/login/")


def test_another_brands_pending_authorization_cannot_be_completed(client, two_brands, platform):
    client.force_login(two_brands["admin_a"].user)
    client.get("/official-accounts/authorize/")
    pending = PendingAuthorization.objects.get()
    assert pending.brand == two_brands["brand_a"]

    client.force_login(two_brands["admin_b"].user)
    session = client.session
    session[SESSION_PENDING_KEY] = pending.pk
    session.save()
    response = client.get("/official-accounts/authorize/return/?auth_code=anything")
    assert response.status_code == 404
    pending.refresh_from_db()
    assert (
        pending.completed_at is None
        and OfficialAccount.objects.filter(connection="platform").count() == 0
    )


def test_coming_back_without_having_started_is_404(client, two_brands, platform):
    client.force_login(two_brands["admin_a"].user)
    assert client.get("/official-accounts/authorize/return/?auth_code=x").status_code == 404


def test_a_refused_code_shows_a_clear_page(client, two_brands, platform):
    client.force_login(two_brands["admin_a"].user)
    client.get("/official-accounts/authorize/")
    response = client.get("/official-accounts/authorize/return/?auth_code=queryauthcode@@@bad")
    assert response.status_code == 400
    assert "WeChat refused the authorization" in response.content.decode()
    assert PendingAuthorization.objects.get().completed_at is None


def test_coming_back_without_a_code_shows_a_clear_page(client, two_brands, platform):
    client.force_login(two_brands["admin_a"].user)
    client.get("/official-accounts/authorize/")
    response = client.get("/official-accounts/authorize/return/")
    assert response.status_code == 400
    assert "did not send an authorization code" in response.content.decode()


def test_without_a_platform_the_page_says_an_operator_must_set_it_up(client, two_brands, db):
    client.force_login(two_brands["admin_a"].user)
    response = client.get("/official-accounts/authorize/")
    assert response.status_code == 503
    body = response.content.decode()
    assert "operator" in body and "Third-party platforms" in body
    assert PendingAuthorization.objects.count() == 0


def test_before_the_first_ticket_the_page_says_to_wait(client, two_brands, portal_sandbox):
    make_platform(portal_sandbox)  # registered, but WeChat has not pushed a ticket yet
    client.force_login(two_brands["admin_a"].user)
    response = client.get("/official-accounts/authorize/")
    assert response.status_code == 502
    assert "verification ticket" in response.content.decode()
    assert PendingAuthorization.objects.count() == 0
