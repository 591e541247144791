"""Likely duplicates among a brand's customers: the same phone, the same email (both
normalised) or the same remark on a follower. Suggested for a person to confirm (a merge)
or dismiss (kept, so the pair is not suggested again); never merged on their own.

The values are normalised and grouped in PostgreSQL (regexp_replace, array_agg). SQLite
has neither (the demo): there the rows' values are normalised in Python by the functions
the SQL forms follow, and grouped there, which the demo's few hundred customers allow."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass

from django.contrib.postgres.aggregates import ArrayAgg
from django.db import IntegrityError, transaction
from django.db.models import CharField, Count, F, Func, QuerySet, Value
from django.db.models.functions import Lower, Trim
from django.utils.translation import gettext as _

from accounts.errors import InvalidInput
from accounts.models import Membership
from accounts.scope import Scope
from followers import sql_portable
from followers.customers import normalise_email, normalise_phone
from followers.models import Customer, DuplicateDismissal, Follower
from followers.selectors_identity import customer_list

REASONS = ("phone", "email", "remark")
GROUPS_MAX = 1000  # values shared by several customers, per reason, per call


@dataclass(frozen=True)
class Suggestion:
    low: int  # customer ids, low < high
    high: int
    reason: str  # phone, email or remark
    value: str


def _phone_key() -> Func:
    """normalise_phone in SQL: digits only, a leading 0086 (or 86 before 11 digits) dropped."""
    digits = Func(F("phone"), Value(r"\D"), Value(""), Value("g"), function="regexp_replace")
    return Func(digits, Value(r"^(0086|86(?=\d{11}$))"), Value(""), function="regexp_replace",
                output_field=CharField())


def _remark_key(value: str) -> str:
    return value.strip().lower()


def _grouped(qs: QuerySet, key: Func, owner: str = "pk", only: list[str] | None = None, *,
             field: str, normalise: Callable[[str], str]) -> dict[str, list[int]]:
    """{normalised value: [customer ids]} for the values more than one customer holds
    (only those in ``only`` when given), grouped in the database: ``key`` is ``field``
    normalised in SQL, as ``normalise`` does it in Python."""
    if not sql_portable.is_postgres():
        return _grouped_here(qs, owner, only, field=field, normalise=normalise)
    qs = qs.annotate(dup_key=key).exclude(dup_key="")
    if only is not None:
        qs = qs.filter(dup_key__in=only)
    rows = (qs.values("dup_key")
            .annotate(n=Count(owner, distinct=True),
                      ids=ArrayAgg(owner, distinct=True, order_by=owner))
            .filter(n__gt=1).order_by("dup_key").values_list("dup_key", "ids"))
    return dict(rows[:GROUPS_MAX])


def _grouped_here(qs: QuerySet, owner: str, only: list[str] | None, *, field: str,
                  normalise: Callable[[str], str]) -> dict[str, list[int]]:
    """``_grouped`` for a database without regexp_replace and array_agg (SQLite)."""
    found: dict[str, set[int]] = defaultdict(set)
    for value, pk in qs.values_list(field, owner).iterator():
        key = normalise(value or "")
        if key and (only is None or key in only):
            found[key].add(pk)
    shared = [(key, sorted(pks)) for key, pks in sorted(found.items()) if len(pks) > 1]
    return dict(shared[:GROUPS_MAX])


def duplicate_suggestions(*, scope: Scope, customer: Customer | None = None,
                          limit: int = 200) -> list[Suggestion]:
    """Pairs of customers the requester may see that look like one person, minus the pairs
    somebody dismissed; only pairs with ``customer`` when given. The grouping runs in the
    database (normalised like followers.customers' normalise_phone and normalise_email)."""
    visible = customer_list(scope=scope)
    if customer is not None:
        # Only the values this customer has.
        phone, email = normalise_phone(customer.phone), normalise_email(customer.email)
        remarks = [_remark_key(r) for r in customer.followers.exclude(remark="")
                   .values_list("remark", flat=True)]
    groups: list[tuple[str, dict[str, list[int]]]] = []
    if customer is None or phone:
        groups.append(("phone", _grouped(visible.exclude(phone=""), _phone_key(),
                                         only=None if customer is None else [phone],
                                         field="phone", normalise=normalise_phone)))
    if customer is None or email:
        groups.append(("email", _grouped(visible.exclude(email=""), Lower(Trim("email")),
                                         only=None if customer is None else [email],
                                         field="email", normalise=normalise_email)))
    if customer is None or remarks:
        followers = Follower.objects.filter(customer__in=visible).exclude(remark="")
        groups.append(("remark", _grouped(followers, Lower(Trim("remark")), owner="customer_id",
                                          only=None if customer is None else remarks,
                                          field="remark", normalise=_remark_key)))
    dismissed = set(DuplicateDismissal.objects.filter(brand_id=scope.brand_id)
                    .values_list("low_id", "high_id"))
    seen: set[tuple[int, int]] = set()
    out: list[Suggestion] = []
    for reason, found in groups:
        for value, pks in sorted(found.items()):
            ordered = sorted(pks)
            for i, low in enumerate(ordered):
                for high in ordered[i + 1:]:
                    pair = (low, high)
                    if pair in dismissed or pair in seen:
                        continue
                    if customer is not None and customer.pk not in pair:
                        continue
                    seen.add(pair)
                    out.append(Suggestion(low=low, high=high, reason=reason, value=value))
                    if len(out) >= limit:
                        return out
    return out


def suggestion_dismiss(*, scope: Scope, a: Customer, b: Customer, by: Membership | None
                       ) -> DuplicateDismissal:
    if a.pk == b.pk or a.brand_id != b.brand_id or a.brand_id != scope.brand_id:
        raise InvalidInput(_("Dismiss a pair of two customers of the brand."))
    low, high = sorted((a.pk, b.pk))
    try:
        with transaction.atomic():
            return DuplicateDismissal.objects.create(brand_id=scope.brand_id, low_id=low,
                                                     high_id=high, by=by)
    except IntegrityError:
        return DuplicateDismissal.objects.get(low_id=low, high_id=high)
