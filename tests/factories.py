"""Small factory functions. Setup walks the real services where one exists."""

import itertools

from accounts import services
from accounts.models import Brand, Membership, OfficialAccount, Role, Team, User
from accounts.scope import Scope, scope_for_membership

_seq = itertools.count(1)
PASSWORD = "correct-horse-battery-staple"


def make_user(*, email: str | None = None, name: str = "") -> User:
    n = next(_seq)
    return User.objects.create_user(email or f"user{n}@example.com", PASSWORD, name=name)


def make_brand(*, name: str | None = None, owner: User | None = None) -> Brand:
    n = next(_seq)
    owner = owner or make_user()
    return services.brand_create(name=name or f"Brand {n}", slug=f"brand-{n}", owner=owner)


def owner_scope(brand: Brand) -> Scope:
    membership = Membership.objects.filter(brand=brand, role=Role.OWNER).first()
    return scope_for_membership(membership)


def make_account(*, brand: Brand, name: str | None = None, **fields: object) -> OfficialAccount:
    n = next(_seq)
    data = {
        "name": name or f"Account {n}",
        "appid": f"wx{n:016x}",
        "original_id": f"gh_{n:012d}",
        "kind": "service",
        "app_secret": f"secret-{n:08d}",
    }
    data.update(fields)
    return services.account_create(scope=owner_scope(brand), **data)


def make_member(
    *, brand: Brand, role: str = Role.AGENT, accounts: list[OfficialAccount] | None = None,
    user: User | None = None,
) -> Membership:
    membership = Membership.objects.create(user=user or make_user(), brand=brand, role=role)
    membership.accounts.set(accounts or [])
    return membership


def make_team(*, brand: Brand, name: str | None = None, accounts: list | None = None) -> Team:
    return services.team_create(
        scope=owner_scope(brand),
        name=name or f"Team {next(_seq)}",
        account_ids=[a.pk for a in accounts or []],
    )
