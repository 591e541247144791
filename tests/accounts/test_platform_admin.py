"""Operators configure the platform in the admin: superusers only, secrets write-only."""

from __future__ import annotations

import io

import pytest
from django.core.management import call_command

from accounts.models import PendingAuthorization, PlatformApp, User
from tests.accounts.platform_support import random_key

pytestmark = pytest.mark.django_db

ADD = "/admin/accounts/platformapp/add/"


@pytest.fixture
def operator(client) -> User:
    user = User.objects.create_superuser("ops@example.com", "pw-for-tests-only")
    client.force_login(user)
    return user


def test_a_superuser_sets_the_secrets_without_ever_seeing_them(client, operator):
    key = random_key()
    response = client.post(
        ADD,
        {
            "component_appid": "wx1234567890abcdef",
            "is_active": "on",
            "new_component_appsecret": "component-secret-value-1",
            "new_token": "platformtoken1",
            "new_encoding_aes_key": key,
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    platform = PlatformApp.objects.get()
    assert platform.component_appsecret == "component-secret-value-1"
    assert (platform.token, platform.encoding_aes_key) == ("platformtoken1", key)

    page = client.get(f"/admin/accounts/platformapp/{platform.pk}/change/").content.decode()
    for secret in ("component-secret-value-1", "platformtoken1", key):
        assert secret not in page
    assert "com…-1" in page  # a hint

    # Blank keeps, a value replaces.
    client.post(
        f"/admin/accounts/platformapp/{platform.pk}/change/",
        {"component_appid": platform.component_appid, "is_active": "on", "new_token": "tok2"},
    )
    platform.refresh_from_db()
    assert platform.token == "tok2" and platform.component_appsecret == "component-secret-value-1"


def test_a_new_platform_needs_all_secrets_and_a_valid_key(client, operator):
    response = client.post(
        ADD,
        {
            "component_appid": "wx1234567890abcdef",
            "new_token": "ok-no",
            "new_encoding_aes_key": "short",
        },
    )
    assert response.status_code == 200
    body = response.content.decode()
    assert "Required for a new platform." in body and "43 letters and digits" in body
    assert PlatformApp.objects.count() == 0


def test_staff_who_are_not_superusers_cannot_see_the_platform(client, two_brands):
    from django.contrib.auth.models import Permission

    user = two_brands["admin_a"].user
    user.is_staff = True
    user.save()
    user.user_permissions.set(Permission.objects.filter(content_type__app_label="accounts"))
    client.force_login(user)
    assert client.get("/admin/accounts/platformapp/").status_code == 403
    assert client.get("/admin/accounts/pendingauthorization/").status_code == 403
    assert "platformapp" not in client.get("/admin/").content.decode()


def test_pending_authorizations_are_read_only(client, operator, two_brands):
    platform = PlatformApp.objects.create(
        component_appid="wx1234567890abcdef",
        component_appsecret="s",
        token="t",
        encoding_aes_key=random_key(),
    )
    pending = PendingAuthorization.objects.create(
        brand=two_brands["brand_a"], platform=platform, pre_auth_code="preauthcode@@@secretvalue"
    )
    assert client.get("/admin/accounts/pendingauthorization/add/").status_code == 403
    page = client.get(f"/admin/accounts/pendingauthorization/{pending.pk}/change/")
    assert page.status_code == 200 and "preauthcode@@@secretvalue" not in page.content.decode()


def test_seed_demo_creates_the_platform_once():
    call_command("seed_demo", stdout=io.StringIO())
    call_command("seed_demo", stdout=io.StringIO())
    platform = PlatformApp.objects.get()
    assert platform.component_appid.startswith("wx") and len(platform.encoding_aes_key) == 43
    assert platform.is_active and platform.token and platform.component_appsecret
