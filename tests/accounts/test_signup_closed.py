"""Nobody signs up on their own: the portal is invite-only (accounts.adapters
InviteOnlyAccountAdapter). The sign-up address answers that plainly, shows no form, and
creates nobody, whatever is posted to it."""

import pytest
from django.urls import reverse

from accounts.models import Membership, User
from tests.factories import make_brand

pytestmark = pytest.mark.django_db

SIGNUP = reverse("account_signup")


def _says_it_is_invite_only(response) -> None:  # noqa: ANN001
    page = response.content.decode()
    assert response.status_code == 200
    assert "Sign-up is by invitation" in page
    assert "invitation" in page and reverse("account_login") in page
    assert 'name="password1"' not in page and 'name="email"' not in page


def test_the_signup_page_says_members_are_invited_and_offers_no_form(client):
    before = User.objects.count()
    _says_it_is_invite_only(client.get(SIGNUP))
    assert User.objects.count() == before


def test_posting_a_signup_creates_no_user_and_signs_nobody_in(client):
    make_brand()  # a brand exists, so an open sign-up would have somewhere to land
    before = (User.objects.count(), Membership.objects.count())

    response = client.post(SIGNUP, {
        "email": "walk-in@example.com", "password1": "a-long-enough-pass-9",
        "password2": "a-long-enough-pass-9",
    })

    assert not User.objects.filter(email="walk-in@example.com").exists()
    assert (User.objects.count(), Membership.objects.count()) == before
    _says_it_is_invite_only(response)
    assert "_auth_user_id" not in client.session
    home = client.get("/")
    assert home.status_code == 302 and reverse("account_login") in home["Location"]
