"""Capabilities follow the account's type (kind and verification) as the platform's
interface table has it, then the bundles an authorization granted."""

from __future__ import annotations

import pytest
from django.utils import translation

from accounts.capabilities import account_capabilities
from tests.factories import make_account, make_brand

pytestmark = pytest.mark.django_db


def _on(account) -> set[str]:
    return {c.feature for c in account_capabilities(account) if c.enabled}


def _reasons(account, language: str = "en") -> dict[str, str]:
    # Reasons are built in the active language; a request elsewhere may have left another.
    with translation.override(language):
        caps = account_capabilities(account)
    return {c.feature: c.reason for c in caps if not c.enabled}


ALL = {
    "messages", "customer_service", "followers", "qrcodes", "kf_accounts", "broadcasts",
    "broadcasts_openid", "templates", "media", "menus", "menus_conditional",
    "analytics_users", "analytics_articles",
}


@pytest.mark.parametrize(("kind", "verified", "expected"), [
    ("subscription", False, {"messages"}),
    ("subscription", True, ALL - {
        "qrcodes", "kf_accounts", "broadcasts_openid", "templates",
    }),
    ("service", False, {"messages", "menus"}),
    ("service", True, ALL),
])
def test_each_account_type_gets_what_the_platform_table_gives_it(kind, verified, expected):
    account = make_account(brand=make_brand(), kind=kind, verified=verified)
    assert _on(account) == expected


def test_an_unverified_account_is_told_why_each_feature_is_off():
    account = make_account(brand=make_brand(), kind="subscription", verified=False)
    reasons = _reasons(account)
    assert reasons["qrcodes"] == (
        "Parametric QR codes need a verified service account. "
        "This one is an unverified subscription account."
    )
    assert reasons["customer_service"].startswith(
        "Customer-service replies need a verified account (subscription or service)."
    )
    assert reasons["broadcasts"].startswith("Broadcasts need a verified account")
    assert reasons["menus"].startswith(
        "Custom menus need a service account or a verified subscription account."
    )
    assert all(reasons.values())


def test_the_type_wins_over_a_granted_bundle():
    account = make_account(brand=make_brand(), connection="platform", kind="subscription",
                           verified=True)
    account.granted_bundles = [1, 2, 3, 6, 7, 15]
    reasons = _reasons(account)
    # Bundle 3 is granted, but no verified subscription account has parametric QR codes.
    assert set(reasons) == {"qrcodes", "kf_accounts", "broadcasts_openid", "templates"}
    assert "need a verified service account" in reasons["qrcodes"]


def test_a_missing_bundle_still_turns_off_what_the_type_allows():
    account = make_account(brand=make_brand(), connection="platform", kind="service",
                           verified=True)
    account.granted_bundles = [1, 2]
    reasons = _reasons(account)
    assert "qrcodes" in reasons and "'Account service' (bundle 3)" in reasons["qrcodes"]
    assert "customer_service" not in reasons


def test_reasons_are_translated():
    account = make_account(brand=make_brand(), kind="service", verified=False)
    reasons = _reasons(account, "zh-hans")
    assert reasons["qrcodes"] == "带参数二维码需要已认证的服务号。此账号是未认证的服务号。"
