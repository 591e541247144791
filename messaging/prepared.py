"""Prepared responses: a brand library with per-account overrides, in three languages.

Resolution for (account, key, language): walk the languages requested → the account's
first language → en (→ whatever version exists); in each, the account's own version wins
over the brand-wide one. The first language with any version wins, so an account's
English override never hides the brand's Chinese text from an agent who asked for Chinese.

Variables are filled by plain substitution, never ``str.format`` (which would let a body
reach attributes). Known variables without a value become empty, so a follower never
receives "{customer_name}"; unknown (misspelt) ones stay visible instead of crashing.
"""

import re
import unicodedata

from django.db import transaction
from django.db.models import Q, QuerySet

from accounts.errors import Conflict, InvalidInput, NotInScope, RoleRequired
from accounts.models import Membership, OfficialAccount, Role
from accounts.scope import Scope
from followers.models import Customer
from messaging.errors import PreparedResponseMissing
from messaging.models import PreparedResponse

LANGUAGES = ("en", "zh-hans", "zh-hant")
FALLBACK_LANGUAGE = "en"
# Until routing's business hours exist, every account shows this schedule.
PLACEHOLDER_HOURS = "09:00–21:00"
VARIABLES = ("account_name", "address", "phone", "hours", "customer_name", "agent_name")
_VARIABLE = re.compile(r"\{([a-z_]+)\}")
_ALIASES = {
    "zh": "zh-hans", "zh-cn": "zh-hans", "zh-sg": "zh-hans", "zh-hans-cn": "zh-hans",
    "zh-tw": "zh-hant", "zh-hk": "zh-hant", "zh-mo": "zh-hant", "zh-hant-tw": "zh-hant",
    "en-us": "en", "en-gb": "en",
}
_EDITORS = frozenset({Role.OWNER, Role.ADMIN})


def normalize_language(code: str | None) -> str:
    """One of LANGUAGES, or "" for anything else (zh_CN, zh-TW, en-US are understood)."""
    code = (code or "").strip().lower().replace("_", "-")
    code = _ALIASES.get(code, code)
    return code if code in LANGUAGES else ""


def language_chain(language: str, account: OfficialAccount | None) -> list[str]:
    first = normalize_language(account.languages[0]) if account and account.languages else ""
    chain: list[str] = []
    # Last, any version at all: a key written in one language only still answers.
    for code in (normalize_language(language), first, FALLBACK_LANGUAGE, *LANGUAGES):
        if code and code not in chain:
            chain.append(code)
    return chain


def _versions(brand_id: int, account: OfficialAccount | None) -> QuerySet[PreparedResponse]:
    own = Q(account=account) if account is not None else Q(pk__in=[])
    return PreparedResponse.objects.filter(Q(account__isnull=True) | own, brand_id=brand_id)


def _pick(versions: list[PreparedResponse], chain: list[str]) -> PreparedResponse | None:
    """The winner among one key's versions (brand-wide and the account's own)."""
    for language in chain:
        in_language = [v for v in versions if v.language == language]
        if in_language:
            # The account's own version (account_id set) beats the brand-wide one.
            return max(in_language, key=lambda v: v.account_id is not None)
    return None


def prepared_resolve(
    *, brand_id: int, account: OfficialAccount | None, key: str, language: str = ""
) -> PreparedResponse | None:
    versions = list(_versions(brand_id, account).filter(key=key))
    return _pick(versions, language_chain(language, account))


def fill_variables(body: str, values: dict[str, str]) -> str:
    return _VARIABLE.sub(lambda m: values.get(m.group(1), m.group(0)), body)


def prepared_variables(
    *, account: OfficialAccount | None, customer: Customer | None,
    agent: Membership | None,
) -> dict[str, str]:
    # Every known variable gets a value, empty when unknown: a follower must never receive
    # "{customer_name}". Only misspelt variables stay visible.
    values = dict.fromkeys(VARIABLES, "") | {"hours": PLACEHOLDER_HOURS}
    if account is not None:
        values |= {"account_name": account.name, "address": account.address,
                   "phone": account.phone}
    if customer is not None and customer.name:
        values["customer_name"] = customer.name
    if agent is not None:
        values["agent_name"] = agent.display_name or agent.user.get_short_name()
    return values


def prepared_render(
    *, scope: Scope, account: OfficialAccount, key: str, language: str = "",
    customer: Customer | None = None, agent: Membership | None = None,
) -> str:
    """The text an agent would send: the best version for the account and language, its
    variables filled from the account, the customer and the agent (the requester by
    default). Raises PreparedResponseMissing when no version exists."""
    if account.brand_id != scope.brand_id:
        raise NotInScope()
    chosen = prepared_resolve(brand_id=scope.brand_id, account=account, key=key,
                              language=language)
    if chosen is None:
        raise PreparedResponseMissing()
    values = prepared_variables(account=account, customer=customer,
                                agent=agent or scope.membership)
    return fill_variables(chosen.body, values)


def search_form(text: str) -> str:
    """Text as the prepared-response search compares it: compatibility forms folded
    (full-width "ＷｉＦｉ" is "WiFi"), case folded, and only letters and digits kept, so
    "wifi", "Wi-Fi", "WI FI" and "wi_fi" are one word and "WIFI密码" finds "Wi-Fi 密码"."""
    folded = unicodedata.normalize("NFKC", text or "").casefold()
    return "".join(ch for ch in folded if ch.isalnum())


def _searchable(version: PreparedResponse) -> str:
    # A separator between the fields, so a match never runs from one into the next.
    return "\n".join(search_form(part) for part in (version.key, version.title, version.body))


def prepared_search(
    *, scope: Scope, account: OfficialAccount | None, q: str = "", language: str = ""
) -> list[PreparedResponse]:
    """What the reply box offers: one version per key (the one an agent would send for this
    account and language), matching `q` in the key (the shortcut), title or text of any
    of its versions, in any language. Case, punctuation, spaces and hyphens do not count
    (`search_form`); a `q` with no letter or digit matches everything."""
    if account is not None and account.brand_id != scope.brand_id:
        raise NotInScope()
    by_key: dict[str, list[PreparedResponse]] = {}
    for version in _versions(scope.brand_id, account).select_related("account"):
        by_key.setdefault(version.key, []).append(version)
    wanted = search_form(q)
    if wanted:
        # Matched here rather than in SQL: a brand's library is hundreds of rows, read
        # whole anyway when nothing is typed, and folding is the same on every database.
        by_key = {key: versions for key, versions in by_key.items()
                  if any(wanted in _searchable(v) for v in versions)}
    chain = language_chain(language, account)
    found = (_pick(v, chain) for _k, v in sorted(by_key.items()))
    return [p for p in found if p is not None]


# -- the library, for its editors -------------------------------------------------------


def prepared_list(*, scope: Scope) -> QuerySet[PreparedResponse]:
    """Every version the requester may see: brand-wide ones and their accounts' own."""
    qs = PreparedResponse.objects.filter(brand_id=scope.brand_id).select_related("account")
    if scope.account_ids is not None:
        qs = qs.filter(Q(account__isnull=True) | Q(account_id__in=scope.account_ids))
    return qs.order_by("key", "language", "account_id")


def _require_editor(scope: Scope, account: OfficialAccount | None) -> None:
    """Owners and admins edit everything; a manager edits their accounts' overrides."""
    if account is not None and (account.brand_id != scope.brand_id
                                or not scope.serves(account.pk)):
        raise NotInScope()
    if scope.role in _EDITORS:
        return
    if scope.role == Role.MANAGER and account is not None and scope.serves(account.pk):
        return
    raise RoleRequired()


def _clean(*, scope: Scope, account: OfficialAccount | None, key: str, language: str,
           title: str, body: str) -> dict:
    code = normalize_language(language)
    if not code:
        raise InvalidInput(f"language must be one of {', '.join(LANGUAGES)}")
    if not key or not body.strip():
        raise InvalidInput("a prepared response needs a key and a text")
    return {"account": account, "key": key, "language": code,
            "title": title or key.replace("-", " ").capitalize(), "body": body}


def prepared_create(
    *, scope: Scope, key: str, language: str, body: str, title: str = "",
    account: OfficialAccount | None = None,
) -> PreparedResponse:
    _require_editor(scope, account)
    data = _clean(scope=scope, account=account, key=key, language=language, title=title,
                  body=body)
    with transaction.atomic():
        exists = PreparedResponse.objects.filter(
            brand_id=scope.brand_id, account=account, key=data["key"],
            language=data["language"],
        ).exists()
        if exists:
            raise Conflict("this key already has a text in this language here")
        return PreparedResponse.objects.create(brand_id=scope.brand_id, **data)


def prepared_update(
    *, scope: Scope, prepared: PreparedResponse, **fields: object
) -> PreparedResponse:
    _require_editor(scope, prepared.account)
    data = _clean(
        scope=scope, account=prepared.account,
        key=str(fields.get("key", prepared.key)),
        language=str(fields.get("language", prepared.language)),
        title=str(fields.get("title", prepared.title)),
        body=str(fields.get("body", prepared.body)),
    )
    clash = PreparedResponse.objects.filter(
        brand_id=scope.brand_id, account=prepared.account, key=data["key"],
        language=data["language"],
    ).exclude(pk=prepared.pk)
    if clash.exists():
        raise Conflict("this key already has a text in this language here")
    for name, value in data.items():
        setattr(prepared, name, value)
    prepared.save()
    return prepared


def prepared_delete(*, scope: Scope, prepared: PreparedResponse) -> None:
    _require_editor(scope, prepared.account)
    prepared.delete()
