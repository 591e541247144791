"""Small factory functions. Setup walks the real services where one exists."""

import itertools
from datetime import datetime

from django.utils import timezone

from accounts import services
from accounts.models import Brand, Membership, OfficialAccount, Role, Team, User
from accounts.scope import Scope, scope_for_membership
from followers.models import Customer, Follower
from messaging.models import Conversation

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


def make_follower(
    *, account: OfficialAccount, openid: str | None = None, customer: Customer | None = None,
    window_at: datetime | None = None, **fields: object,
) -> Follower:
    """A follower with its own customer (or `customer`); `window_at` records the message
    that opened its 48-hour reply window (default: just now)."""
    n = next(_seq)
    now = timezone.now()
    customer = customer or Customer.objects.create(brand_id=account.brand_id)
    data: dict = {
        "subscribed_at": now,
        "window_opened_at": window_at or now,
        "last_inbound_at": window_at or now,
    }
    data.update(fields)
    return Follower.objects.create(
        brand_id=account.brand_id, account=account, openid=openid or f"o_follower_{n:06d}",
        customer=customer, **data,
    )


def make_conversation(
    *, account: OfficialAccount | None = None, follower: Follower | None = None,
    **fields: object,
) -> Conversation:
    """An open conversation of `follower` (made on `account` when not given), waiting."""
    follower = follower or make_follower(account=account)
    now = timezone.now()
    data: dict = {
        "handling_account": follower.account,
        "opened_at": now,
        "last_message_at": now,
        "waiting_since": now,
    }
    data.update(fields)
    return Conversation.objects.create(
        brand_id=follower.brand_id, channel_account=follower.account, follower=follower,
        customer=follower.customer, **data,
    )
