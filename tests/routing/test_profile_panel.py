"""The console's profile panel (`/console/conversations/<id>/profile/`, what the console's
script fetches, `routing.selectors.conversation_profile`): the customer's identities are
their followers on the accounts the requester serves, plus the conversation's own
follower; never an identity on another account, nor anything of another brand."""

import pytest
from django.urls import reverse

from accounts.models import Membership
from followers.models import Customer, Follower, Tag
from messaging.models import Conversation
from tests.factories import make_account, make_conversation, make_follower, make_member

pytestmark = pytest.mark.django_db


@pytest.fixture
def person(two_brands: dict) -> dict:
    """One guest of brand A on three accounts (one customer), the same guest at brand B,
    and an agent who serves two of brand A's accounts."""
    w = two_brands
    a3 = make_account(brand=w["brand_a"], name="A resort")
    agent = make_member(brand=w["brand_a"], accounts=[w["a2"], a3])
    guest = Customer.objects.create(brand=w["brand_a"], unionid="uGUEST", name="Mei",
                                    notes="Allergic to peanuts")
    on_a1 = make_follower(account=w["a1"], openid="o_guest_flagship", customer=guest)
    on_a2 = make_follower(account=w["a2"], openid="o_guest_property", customer=guest,
                          remark="Room 1208")
    on_a3 = make_follower(account=a3, openid="o_guest_resort", customer=guest)
    on_a2.tags.add(Tag.objects.create(brand=w["brand_a"], name="VIP"))
    # The same person at brand B: their own customer there, as the CRM keeps it.
    rival = Customer.objects.create(brand=w["brand_b"], unionid="uGUEST", name="Mei at B")
    make_follower(account=w["b1"], openid="o_guest_rival", customer=rival)
    # And a row that must never happen but must not leak if it does: a brand B follower
    # pointing at brand A's customer.
    Follower.objects.create(brand=w["brand_b"], account=w["b1"], openid="o_guest_stray",
                            customer=guest)
    return {**w, "a3": a3, "agent": agent, "guest": guest, "on_a1": on_a1, "on_a2": on_a2,
            "on_a3": on_a3}


def _profile(client, member: Membership, conversation: Conversation):  # noqa: ANN001, ANN202
    client.force_login(member.user)
    return client.get(reverse("console_profile", args=[conversation.pk]))


def _openids(response) -> list[str]:  # noqa: ANN001
    assert response.status_code == 200, response.content
    return [identity["openid"] for identity in response.json()["identities"]]


def test_an_agent_sees_the_identities_on_the_accounts_they_serve_only(client, person):
    p = person
    conversation = make_conversation(follower=p["on_a2"])

    response = _profile(client, p["agent"], conversation)

    assert _openids(response) == ["o_guest_property", "o_guest_resort"]
    body = response.json()
    assert body["customer"]["name"] == "Mei" and body["customer"]["id"] == p["guest"].pk
    property_ = body["identities"][0]
    assert property_["account"] == {"id": p["a2"].pk, "name": "A property"}
    assert property_["remark"] == "Room 1208" and property_["tags"] == ["VIP"]
    text = response.content.decode()
    for foreign in ("o_guest_flagship", "A flagship", "o_guest_rival", "o_guest_stray",
                    "Mei at B", "B flagship"):
        assert foreign not in text, foreign


def test_a_conversation_transferred_to_the_agent_shows_its_own_follower_too(client, person):
    p = person
    # Written to A flagship (not served), handed to A property (served).
    conversation = make_conversation(follower=p["on_a1"], handling_account=p["a2"])

    assert _openids(_profile(client, p["agent"], conversation)) == [
        "o_guest_flagship", "o_guest_property", "o_guest_resort"]


def test_an_admin_sees_every_identity_of_their_brand_and_none_of_another(client, person):
    p = person
    conversation = make_conversation(follower=p["on_a2"])

    response = _profile(client, p["admin_a"], conversation)

    assert _openids(response) == ["o_guest_flagship", "o_guest_property", "o_guest_resort"]
    text = response.content.decode()
    assert "o_guest_rival" not in text and "o_guest_stray" not in text


def test_another_brand_gets_404_and_nothing_of_the_profile(client, person):
    p = person
    conversation = make_conversation(follower=p["on_a2"])

    response = _profile(client, p["admin_b"], conversation)

    assert response.status_code == 404
    assert "Mei" not in response.content.decode()


def test_an_agent_who_does_not_serve_the_conversation_gets_404(client, person):
    p = person
    conversation = make_conversation(follower=p["on_a1"])  # A flagship only

    response = _profile(client, p["agent"], conversation)

    assert response.status_code == 404
    assert "o_guest" not in response.content.decode()
