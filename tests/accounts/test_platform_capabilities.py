"""The capabilities table says what a connection allows, and why a feature is off."""

from __future__ import annotations

import pytest
from django.utils import timezone, translation

from accounts.capabilities import FEATURES, account_capabilities, feature_enabled
from tests.factories import make_account

pytestmark = pytest.mark.django_db


def _by_feature(account) -> dict:
    return {c.feature: c for c in account_capabilities(account)}


def test_a_verified_service_account_connected_directly_enables_everything(two_brands):
    account = make_account(brand=two_brands["brand_a"], kind="service", verified=True)
    caps = account_capabilities(account)
    assert len(caps) == len(FEATURES) and all(c.enabled and not c.reason for c in caps)


def test_a_platform_connection_enables_only_the_granted_bundles(two_brands):
    account = make_account(brand=two_brands["brand_a"], connection="platform", verified=True)
    account.granted_bundles = [1, 2, 3]
    caps = _by_feature(account)
    on = {key for key, cap in caps.items() if cap.enabled}
    assert on == {
        "messages", "followers", "qrcodes", "customer_service", "analytics_users", "media",
    }
    broadcasts = caps["broadcasts"]
    assert broadcasts.reason == (
        "The account did not grant 'Broadcast & notification' (bundle 7) to the portal; "
        "re-authorize to enable it."
    )
    assert "'Custom menu' (bundle 15)" in caps["menus"].reason
    assert "'Multi-customer-service' (bundle 6)" in caps["kf_accounts"].reason
    assert feature_enabled(account, "qrcodes") and not feature_enabled(account, "menus")


def test_a_feature_needing_two_missing_bundles_names_both(two_brands):
    account = make_account(brand=two_brands["brand_a"], connection="platform", verified=True)
    account.granted_bundles = [2]
    reason = _by_feature(account)["kf_accounts"].reason
    assert "'Message management' (1)" in reason and "'Multi-customer-service' (6)" in reason


def test_a_withdrawn_authorization_disables_everything(two_brands):
    account = make_account(brand=two_brands["brand_a"], connection="platform")
    account.granted_bundles = [1, 2, 3, 6, 7, 15]
    account.disconnected_at = timezone.now()
    caps = account_capabilities(account)
    assert not any(c.enabled for c in caps)
    assert all("withdrew its authorization" in c.reason for c in caps)


def test_labels_and_reasons_are_translatable(two_brands):
    account = make_account(brand=two_brands["brand_a"], connection="platform")
    with translation.override("zh-hans"):
        caps = account_capabilities(account)
    # Evaluated in the active language (English where the catalogue has no entry yet).
    assert all(isinstance(c.label, str) and isinstance(c.reason, str) for c in caps)
