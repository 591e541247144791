"""After too many failed sign-ins the page says when the member can try again, in minutes
and as a time, instead of allauth's "Try again later"; even the right password waits."""

from datetime import timedelta

import pytest
from django.core.cache import cache
from django.test import Client
from django.utils import timezone

from accounts.adapters import lockout_message
from tests.accounts.html_support import parse
from tests.factories import PASSWORD, make_user

pytestmark = pytest.mark.django_db
LOGIN = "/auth/login/"


@pytest.fixture(autouse=True)
def _no_earlier_failures() -> None:
    # allauth keeps failed attempts in the shared cache, keyed by address and email: a run
    # a minute ago must not count here.
    cache.clear()


def _minute_after(seconds: int) -> str:
    """The HH:MM a lockout ending `seconds` from now is announced with (rounded up)."""
    at = timezone.localtime() + timedelta(seconds=seconds)
    at = at.replace(second=0, microsecond=0) + timedelta(minutes=1)
    return at.strftime("%H:%M")


def _errors(response: object) -> list[str]:
    page = parse(response.content.decode())
    return [li.text() for ul in page.find_all("ul", class_="errorlist") for li in ul.find_all("li")]


def test_the_sixth_attempt_says_when_to_try_again(client: Client) -> None:
    user = make_user()
    for _ in range(5):
        response = client.post(LOGIN, {"login": user.email, "password": "wrong-password"})
        assert response.status_code == 200
        assert not any("Try again" in e for e in _errors(response))
    earliest = _minute_after(299)
    # Locked now, even with the right password: the page says for how long, and until when.
    response = client.post(LOGIN, {"login": user.email, "password": PASSWORD})
    latest = _minute_after(300)
    assert response.status_code == 200
    assert "_auth_user_id" not in client.session
    [error] = [e for e in _errors(response) if "Try again" in e]
    assert error in {
        f"Too many failed attempts. Try again in 5 minutes, at {at}."
        for at in (earliest, latest)
    }


def test_the_lockout_is_per_email(client: Client) -> None:
    locked, other = make_user(), make_user()
    for _ in range(5):
        client.post(LOGIN, {"login": locked.email, "password": "wrong-password"})
    response = client.post(LOGIN, {"login": other.email, "password": PASSWORD})
    assert response.status_code == 302  # another member signs in from the same address


def test_the_message_rounds_up_and_speaks_of_one_minute() -> None:
    soon = timezone.now() + timedelta(seconds=20)
    local = timezone.localtime(soon).replace(second=0, microsecond=0) + timedelta(minutes=1)
    assert lockout_message(soon) == (
        f"Too many failed attempts. Try again in 1 minute, at {local:%H:%M}."
    )


def test_behind_the_proxy_the_address_lockout_is_per_client_not_per_proxy(
    client: Client, settings
) -> None:
    # deploy/nginx.conf forwards every request from 127.0.0.1: counting one proxy, the
    # lockout by address applies to the client nginx names, not to nginx itself.
    settings.ALLAUTH_TRUSTED_PROXY_COUNT = 1
    attacker = {"HTTP_X_FORWARDED_FOR": "203.0.113.7"}
    for n in range(10):
        client.post(LOGIN, {"login": f"guess{n}@example.com", "password": "x"}, **attacker)
    response = client.post(LOGIN, {"login": "guess@example.com", "password": "x"}, **attacker)
    assert any("Try again" in e for e in _errors(response))
    member = make_user()
    elsewhere = Client().post(LOGIN, {"login": member.email, "password": PASSWORD},
                              HTTP_X_FORWARDED_FOR="198.51.100.2")
    assert elsewhere.status_code == 302  # signed in: the attacker's lockout is not theirs
