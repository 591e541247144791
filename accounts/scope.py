"""Tenancy: one door.

A `Scope` is what a request may see: one brand, and for managers and agents the accounts
they serve. Every request-serving query starts from it (`scope.accounts()`, the selectors),
and every client-supplied id goes through `access()`, which answers NotInScope (404) both
for "missing" and for "not yours".
"""

from dataclasses import dataclass
from typing import TypeVar

from django.db import models

from accounts.errors import NotInScope, RoleRequired
from accounts.models import ApiKey, Brand, Membership, OfficialAccount, Role

M = TypeVar("M", bound=models.Model)

# What each role may do; a capability missing from a role answers 403 (the object is in
# scope, so its existence is no secret, only the action is refused).
CAPABILITIES: dict[str, frozenset[str]] = {
    "brand.settings": frozenset({Role.OWNER}),
    "accounts.manage": frozenset({Role.OWNER, Role.ADMIN}),
    "members.manage": frozenset({Role.OWNER, Role.ADMIN}),
    "teams.manage": frozenset({Role.OWNER, Role.ADMIN, Role.MANAGER}),
    "api_keys.manage": frozenset({Role.OWNER, Role.ADMIN}),
    "business_hours.manage": frozenset({Role.OWNER, Role.ADMIN}),
}


@dataclass(frozen=True)
class Scope:
    brand: Brand
    role: str
    membership: Membership | None = None
    api_key: ApiKey | None = None
    # None means every account of the brand.
    account_ids: frozenset[int] | None = None

    @property
    def brand_id(self) -> int:
        return self.brand.pk

    @property
    def is_brand_wide(self) -> bool:
        return self.account_ids is None

    def can(self, capability: str) -> bool:
        return self.role in CAPABILITIES[capability]

    def require(self, capability: str) -> None:
        if not self.can(capability):
            raise RoleRequired()

    def accounts(self) -> models.QuerySet[OfficialAccount]:
        qs = OfficialAccount.objects.filter(brand_id=self.brand_id)
        if self.account_ids is not None:
            qs = qs.filter(pk__in=self.account_ids)
        return qs

    def serves(self, account_id: int) -> bool:
        return self.account_ids is None or account_id in self.account_ids


def scope_for_membership(membership: Membership) -> Scope:
    account_ids: frozenset[int] | None = None
    if not membership.is_brand_wide:
        served = frozenset(membership.accounts.values_list("pk", flat=True))
        # No served accounts means all of them (docs/architecture.md: "none = all").
        account_ids = served or None
    return Scope(
        brand=membership.brand,
        role=membership.role,
        membership=membership,
        account_ids=account_ids,
    )


def scope_for_api_key(key: ApiKey) -> Scope:
    # An integration acts for the whole brand, with an admin's reach.
    return Scope(brand=key.brand, role=Role.ADMIN, api_key=key)


def access(queryset: models.QuerySet[M], pk: object) -> M:
    """Load one object from an already scoped queryset, or raise NotInScope."""
    try:
        return queryset.get(pk=pk)
    except (queryset.model.DoesNotExist, ValueError, TypeError) as exc:
        raise NotInScope() from exc
