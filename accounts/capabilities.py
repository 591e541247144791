"""What the portal can do for an account, given how it is connected.

A direct connection (AppID and AppSecret) can call every API the account type allows. A
third-party platform authorization can only call the APIs of the permission bundles the
account's admin granted, and the admin may untick some on the consent page
(wechat-protocol.md §3.3). This table says which portal feature needs which bundle, so
pages can say what is off and why instead of failing with errcode 48001.
"""

from dataclasses import dataclass

from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from accounts.models import OfficialAccount

# Bundle names as on the protocol doc's table (funcscope_category.id).
BUNDLE_NAMES: dict[int, Promise] = {
    1: _("Message management"),
    2: _("User management"),
    3: _("Account service"),
    4: _("Web (H5) service"),
    6: _("Multi-customer-service"),
    7: _("Broadcast & notification"),
    11: _("Media assets"),
    15: _("Custom menu"),
}


@dataclass(frozen=True)
class Feature:
    key: str
    label: Promise
    bundles: tuple[int, ...]


# Portal feature -> the bundles it needs (all of them).
FEATURES: tuple[Feature, ...] = (
    Feature("messages", _("Messages and conversations"), (1,)),
    Feature("followers", _("Followers, tags and CRM sync"), (2,)),
    Feature("qrcodes", _("Parametric QR codes"), (3,)),
    Feature("customer_service", _("Customer-service replies"), (1,)),
    Feature("kf_accounts", _("Customer-service accounts"), (1, 6)),
    Feature("broadcasts", _("Broadcasts"), (7,)),
    Feature("menus", _("Custom menus"), (15,)),
    Feature("analytics_users", _("Follower analytics"), (2,)),
    Feature("analytics_articles", _("Article analytics"), (7,)),
)
FEATURES_BY_KEY = {feature.key: feature for feature in FEATURES}


@dataclass(frozen=True)
class Capability:
    feature: str
    label: str
    enabled: bool
    reason: str


def bundle_label(bundle_id: int) -> str:
    return str(BUNDLE_NAMES.get(bundle_id, _("Bundle %(id)s") % {"id": bundle_id}))


def _missing_reason(missing: list[int]) -> str:
    if len(missing) == 1:
        return str(
            _(
                "The account did not grant '%(bundle)s' (bundle %(id)s) to the portal; "
                "re-authorize to enable it."
            )
            % {"bundle": bundle_label(missing[0]), "id": missing[0]}
        )
    names = ", ".join(f"'{bundle_label(i)}' ({i})" for i in missing)
    return str(
        _(
            "The account did not grant the bundles %(bundles)s to the portal; "
            "re-authorize to enable them."
        )
        % {"bundles": names}
    )


def feature_enabled(account: OfficialAccount, key: str) -> bool:
    """True when the account's connection lets the portal use the feature."""
    return _capability(account, FEATURES_BY_KEY[key]).enabled


def _capability(account: OfficialAccount, feature: Feature) -> Capability:
    label = str(feature.label)
    if account.connection != OfficialAccount.Connection.PLATFORM:
        return Capability(feature.key, label, True, "")
    if account.disconnected_at is not None:
        return Capability(
            feature.key,
            label,
            False,
            str(_("The account withdrew its authorization; re-authorize to reconnect it.")),
        )
    granted = {int(i) for i in account.granted_bundles or []}
    missing = [i for i in feature.bundles if i not in granted]
    if missing:
        return Capability(feature.key, label, False, _missing_reason(missing))
    return Capability(feature.key, label, True, "")


def account_capabilities(account: OfficialAccount) -> list[Capability]:
    """Every portal feature for the account: enabled or not, and a plain reason when not."""
    return [_capability(account, feature) for feature in FEATURES]
