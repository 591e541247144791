"""Inviting an address that already has an open invitation sends that invitation again:
one row, a new link (the earlier one stops working), a fresh expiry, the role and accounts
asked for the second time, and the email goes out again. The address matches in any case."""

from datetime import timedelta

import pytest
from django.core import mail
from django.test import Client
from django.utils import timezone

from accounts import services
from accounts.errors import NotInScope
from accounts.models import Invitation, Membership, Role
from accounts.scope import scope_for_membership
from tests.factories import make_account, make_brand, owner_scope

pytestmark = pytest.mark.django_db


def _link(message: mail.EmailMessage) -> str:
    link = next(w for w in message.body.split() if "/invite/" in w)
    return link[link.index("/invite/"):]


def test_inviting_twice_sends_the_one_invitation_again_with_a_new_link(
    django_capture_on_commit_callbacks,
) -> None:
    brand = make_brand()
    lobby, spa = make_account(brand=brand), make_account(brand=brand)
    scope = owner_scope(brand)
    with django_capture_on_commit_callbacks(execute=True):
        first, first_raw = services.invitation_create(
            scope=scope, email="Ana.Li@Example.com", role=Role.AGENT,
            account_ids=[lobby.pk], by=scope.membership.user,
        )
    Invitation.objects.filter(pk=first.pk).update(expires_at=timezone.now() + timedelta(days=1))
    with django_capture_on_commit_callbacks(execute=True):
        again, raw = services.invitation_create(
            scope=scope, email=" ana.li@example.COM", role=Role.MANAGER,
            account_ids=[spa.pk], by=scope.membership.user,
        )
    assert again.pk == first.pk
    [open_one] = Invitation.objects.filter(brand=brand, accepted_at__isnull=True)
    assert open_one.email == "ana.li@example.com" and open_one.role == Role.MANAGER
    assert list(open_one.accounts.all()) == [spa]
    assert open_one.expires_at > timezone.now() + timedelta(days=6)
    # Both emails went out; only the second link works.
    assert [m.to for m in mail.outbox] == [["ana.li@example.com"], ["ana.li@example.com"]]
    assert raw in mail.outbox[1].body and raw != first_raw
    with pytest.raises(NotInScope):
        services.invitation_by_token(raw_token=first_raw)
    assert services.invitation_by_token(raw_token=raw).pk == first.pk


def test_inviting_twice_from_the_members_page_lists_one_invitation(
    client: Client, django_capture_on_commit_callbacks,
) -> None:
    brand = make_brand()
    client.force_login(Membership.objects.get(brand=brand, role="owner").user)
    for email in ("guest.care@example.com", "Guest.Care@Example.com"):
        with django_capture_on_commit_callbacks(execute=True):
            response = client.post("/members/", {"email": email, "role": "agent"})
        assert response.status_code == 302
    assert Invitation.objects.filter(brand=brand).count() == 1
    page = client.get("/members/").content.decode()
    assert page.count("guest.care@example.com") == 1
    first, second = (_link(m) for m in mail.outbox)
    client.logout()
    assert client.get(first).status_code == 404  # replaced by the second
    assert client.get(second).status_code == 200


def test_another_brand_inviting_the_same_address_keeps_its_own_invitation(
    two_brands: dict,
) -> None:
    for brand in ("brand_a", "brand_b"):
        scope = scope_for_membership(two_brands[f"admin_{brand[-1]}"])
        services.invitation_create(scope=scope, email="shared@example.com", role=Role.AGENT,
                                   account_ids=[], by=None)
    assert sorted(Invitation.objects.filter(email="shared@example.com")
                  .values_list("brand__name", flat=True)) == ["Brand A", "Brand B"]


def test_duplicates_left_from_before_collapse_into_the_one_sent_again() -> None:
    brand = make_brand()
    for n in range(2):
        Invitation.objects.create(brand=brand, email="Twice@example.com",
                                  token_hash=f"old-{n}")
    invitation, raw = services.invitation_create(
        scope=owner_scope(brand), email="twice@example.com", role=Role.AGENT, account_ids=[],
        by=None,
    )
    assert list(Invitation.objects.filter(brand=brand)) == [invitation]
    assert services.invitation_by_token(raw_token=raw) == invitation


def test_an_accepted_invitation_is_not_reopened() -> None:
    brand = make_brand()
    scope = owner_scope(brand)
    old, _raw = services.invitation_create(scope=scope, email="done@example.com",
                                           role=Role.AGENT, account_ids=[], by=None)
    Invitation.objects.filter(pk=old.pk).update(accepted_at=timezone.now())
    new, _raw = services.invitation_create(scope=scope, email="done@example.com",
                                           role=Role.AGENT, account_ids=[], by=None)
    assert new.pk != old.pk
    old.refresh_from_db()
    assert old.accepted_at is not None
