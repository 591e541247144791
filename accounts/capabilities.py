"""What the portal can do for an account, given its type and how it is connected.

Two things decide it. The account's type (subscription or service, verified or not) says
which interfaces the platform lets it call at all: the platform's table, kept in
`wechat/permissions.py` and enforced by the sandbox with the same errcode 48001. A
third-party platform authorization can then only call the APIs of the permission bundles
the account's admin granted, and the admin may untick some on the consent page
(docs/wechat.md §3.3). Pages say what is off and why instead of failing later.
"""

from dataclasses import dataclass

from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from accounts.models import OfficialAccount
from wechat import permissions
from wechat.permissions import AccountType

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
    # Rows of the platform's table (wechat/permissions.py) the feature calls.
    interfaces: tuple[str, ...]


# Portal feature -> the bundles and interfaces it needs (all of them).
FEATURES: tuple[Feature, ...] = (
    Feature("messages", _("Messages and conversations"), (1,), ("receive",)),
    Feature("customer_service", _("Customer-service replies"), (1,), ("customer_service",)),
    Feature("followers", _("Followers, tags and CRM sync"), (2,),
            ("user_info", "user_list", "tags")),
    Feature("qrcodes", _("Parametric QR codes"), (3,), ("qrcodes",)),
    Feature("kf_accounts", _("Customer-service accounts"), (1, 6), ("kf_accounts",)),
    Feature("broadcasts", _("Broadcasts"), (7,), ("mass_send",)),
    Feature("broadcasts_openid", _("Broadcasts to chosen followers"), (7,),
            ("mass_send_openid",)),
    Feature("templates", _("Template messages"), (7,), ("template",)),
    Feature("media", _("Images and media uploads"), (), ("media",)),
    Feature("menus", _("Custom menus"), (15,), ("menus",)),
    Feature("menus_conditional", _("Personalised menus"), (15,), ("menus_conditional",)),
    Feature("analytics_users", _("Follower analytics"), (2,), ("datacube",)),
    Feature("analytics_articles", _("Article analytics"), (7,), ("datacube",)),
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


# What each shape of the table's cells asks for, said of a feature.
_NEEDS: dict[frozenset[AccountType], Promise] = {
    permissions.VERIFIED_SERVICE_ONLY: _("%(feature)s need a verified service account."),
    permissions.VERIFIED: _("%(feature)s need a verified account (subscription or service)."),
    permissions.MENU_TYPES: _(
        "%(feature)s need a service account or a verified subscription account."
    ),
}
_TYPE_NAMES: dict[AccountType, Promise] = {
    permissions.UNVERIFIED_SUBSCRIPTION: _("an unverified subscription account"),
    permissions.VERIFIED_SUBSCRIPTION: _("a verified subscription account"),
    permissions.UNVERIFIED_SERVICE: _("an unverified service account"),
    permissions.VERIFIED_SERVICE: _("a verified service account"),
}


def _type_reason(account: OfficialAccount, feature: Feature) -> str:
    """Why the account's type rules the feature out, or "" when it does not."""
    for key in feature.interfaces:
        if permissions.type_has(key, kind=account.kind, verified=account.verified):
            continue
        types = permissions.INTERFACES_BY_KEY[key].types
        needs = _NEEDS.get(types, _("%(feature)s are not available to this type of account."))
        this = _TYPE_NAMES[(account.kind, bool(account.verified))]
        return str(_("%(needs)s This one is %(type)s.") % {
            "needs": needs % {"feature": feature.label}, "type": this,
        })
    return ""


def feature_enabled(account: OfficialAccount, key: str) -> bool:
    """True when the account's type and connection let the portal use the feature."""
    return _capability(account, FEATURES_BY_KEY[key]).enabled


def _capability(account: OfficialAccount, feature: Feature) -> Capability:
    label = str(feature.label)
    platform = account.connection == OfficialAccount.Connection.PLATFORM
    if platform and account.disconnected_at is not None:
        return Capability(
            feature.key,
            label,
            False,
            str(_("The account withdrew its authorization; re-authorize to reconnect it.")),
        )
    if account.disconnected_at is not None:
        # A direct account a member disconnected: the portal no longer holds its AppSecret.
        return Capability(
            feature.key,
            label,
            False,
            str(_("The account is disconnected; enter its AppSecret in the connection wizard "
                  "to reconnect it.")),
        )
    # The type before the bundles: no authorization grants what the platform withholds.
    reason = _type_reason(account, feature)
    if reason:
        return Capability(feature.key, label, False, reason)
    if not platform:
        return Capability(feature.key, label, True, "")
    granted = {int(i) for i in account.granted_bundles or []}
    missing = [i for i in feature.bundles if i not in granted]
    if missing:
        return Capability(feature.key, label, False, _missing_reason(missing))
    return Capability(feature.key, label, True, "")


def account_capabilities(account: OfficialAccount) -> list[Capability]:
    """Every portal feature for the account: enabled or not, and a plain reason when not."""
    return [_capability(account, feature) for feature in FEATURES]
