"""How the portal names a person to its agents, and their language in words.

One rule wherever a person is shown (the console's list, thread and profile, the
conversation API): the customer's name, else the follower's remark on the account, else
"Customer #<id>". The openid identifies a follower to the platform; it is never the
headline, since it says nothing to a person.
"""

from django.utils.translation import gettext as _

from followers.models import Customer, Follower

# WeChat's language codes (zh_CN, zh_TW, zh_HK, en) and the portal's own (zh-hans, ...),
# lower-cased with "_" for "-".
_SIMPLIFIED = frozenset({"zh", "zh_cn", "zh_sg", "zh_hans", "zh_hans_cn"})
_TRADITIONAL = frozenset({"zh_tw", "zh_hk", "zh_mo", "zh_hant", "zh_hant_tw"})
_ENGLISH = frozenset({"en", "en_us", "en_gb"})


def person_display_name(*, customer: Customer | None, follower: Follower | None) -> str:
    """The headline for a person: the customer's name, else the follower's remark, else
    "Customer #<customer id>" (translated). Reads no rows beyond the two given."""
    if customer is not None and customer.name.strip():
        return customer.name.strip()
    if follower is not None and follower.remark.strip():
        return follower.remark.strip()
    customer_id = customer.pk if customer is not None else getattr(follower, "customer_id", None)
    if customer_id is None:
        return _("Unknown customer")
    return _("Customer #%(id)s") % {"id": customer_id}


def language_name(code: str | None) -> str:
    """A language code in words, in the active language: "Chinese (Simplified)" for
    zh_CN, "Chinese (Traditional)" for zh_TW and zh_HK, "English" for en; any other code
    as it is."""
    key = (code or "").strip().lower().replace("-", "_")
    if key in _SIMPLIFIED:
        return _("Chinese (Simplified)")
    if key in _TRADITIONAL:
        return _("Chinese (Traditional)")
    if key in _ENGLISH:
        return _("English")
    return (code or "").strip()
