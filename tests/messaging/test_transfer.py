"""Transfers: to a team, to another account's queue; what is announced and what is refused."""

from __future__ import annotations

import pytest

from accounts.errors import Conflict, InvalidInput, NotInScope
from accounts.scope import scope_for_membership
from messaging import services
from messaging.models import Conversation, Message
from tests.factories import make_account, make_conversation, make_member, make_team

pytestmark = pytest.mark.django_db
API = "/api/v1/conversations/"


def _changes(announced: list[tuple[str, dict]]) -> list[tuple[str, dict]]:
    return [(name, payload) for name, payload in announced if name.startswith("conversation.")]


def test_an_account_transfer_names_where_it_was(two_brands, announced) -> None:
    convo = two_brands["conversation_a"]  # a1, team A
    helper = make_member(brand=two_brands["brand_a"], accounts=[two_brands["a1"]])
    Conversation.objects.filter(pk=convo.pk).update(assignee=helper)
    scope = scope_for_membership(two_brands["admin_a"])
    services.conversation_transfer(scope=scope, conversation=convo, to_account=two_brands["a2"],
                                   note="  late check-out  ", by=two_brands["admin_a"])
    convo.refresh_from_db()
    assert (convo.handling_account, convo.team, convo.assignee) == (two_brands["a2"], None, None)
    assert convo.channel_account == two_brands["a1"]  # replies still go out through a1
    ((name, change),) = _changes(announced)
    assert name == "conversation.transferred"
    assert change["previous_assignee_id"] == helper.pk
    assert change["by_membership_id"] == two_brands["admin_a"].pk
    assert change["handling_account_id"] == two_brands["a2"].pk and change["team_id"] is None
    assert change["previous_handling_account_id"] == two_brands["a1"].pk
    assert change["previous_team_id"] == two_brands["team_a"].pk
    line = Message.objects.get(conversation=convo, direction="system")
    assert line.content == "→ A property\nlate check-out"
    assert line.payload["transfer"] == {
        "from_account": two_brands["a1"].pk, "from_team": two_brands["team_a"].pk,
        "to_account": two_brands["a2"].pk, "to_team": None,
    }


def test_other_changes_carry_no_previous_place(two_brands, announced) -> None:
    scope = scope_for_membership(two_brands["admin_a"])
    services.conversation_resolve(scope=scope, conversation=two_brands["conversation_a"])
    ((name, change),) = _changes(announced)
    assert name == "conversation.resolved" and change["cause"] == "agent"
    assert "previous_handling_account_id" not in change and "previous_team_id" not in change


def test_a_transfer_is_refused_when_it_would_move_nothing_or_nowhere(two_brands) -> None:
    convo = two_brands["conversation_a"]
    scope = scope_for_membership(two_brands["admin_a"])
    with pytest.raises(InvalidInput):
        services.conversation_transfer(scope=scope, conversation=convo, by=None)
    with pytest.raises(Conflict):
        services.conversation_transfer(scope=scope, conversation=convo,
                                       to_team=two_brands["team_a"], by=None)
    with pytest.raises(NotInScope):
        services.conversation_transfer(scope=scope, conversation=convo,
                                       to_account=two_brands["b1"], by=None)
    services.conversation_resolve(scope=scope, conversation=convo)
    with pytest.raises(Conflict):
        services.conversation_transfer(scope=scope, conversation=convo,
                                       to_account=two_brands["a2"], by=None)
    convo.refresh_from_db()
    assert (convo.handling_account, convo.team) == (two_brands["a1"], two_brands["team_a"])
    assert not Message.objects.filter(conversation=convo, direction="system").exists()


def test_an_agent_hands_a_conversation_to_another_team_over_rest(client, two_brands) -> None:
    brand, a2 = two_brands["brand_a"], two_brands["a2"]
    agent = two_brands["agent_a"]  # serves a2
    weekend = make_team(brand=brand, name="Weekend", accounts=[a2])
    convo = make_conversation(account=a2)
    client.force_login(agent.user)
    response = client.post(f"{API}{convo.pk}/transfer/", {"team": weekend.pk, "note": "VIP"},
                           content_type="application/json")
    # Still on a2, which the agent serves: they see where it went.
    assert response.status_code == 200, response.content
    assert response.json()["team"] == {"id": weekend.pk, "name": "Weekend"}
    messages = client.get(f"{API}{convo.pk}/messages/").json()["results"]
    assert [m["content"] for m in messages if m["direction"] == "system"] == [
        "→ Weekend · A property\nVIP"]


def test_an_agent_who_hands_it_out_of_sight_gets_204_then_404(client, two_brands) -> None:
    agent = two_brands["agent_a"]  # serves a2 only
    convo = make_conversation(account=two_brands["a2"])
    client.force_login(agent.user)
    response = client.post(f"{API}{convo.pk}/transfer/", {"account": two_brands["a1"].pk},
                           content_type="application/json")
    assert response.status_code == 204, response.content
    assert client.get(f"{API}{convo.pk}/").status_code == 404


def test_rest_refuses_foreign_targets_and_empty_transfers(client, two_brands) -> None:
    convo = two_brands["conversation_a"]
    client.force_login(two_brands["admin_a"].user)
    url = f"{API}{convo.pk}/transfer/"
    for body in ({"account": two_brands["b1"].pk}, {"team": two_brands["team_b"].pk}):
        response = client.post(url, body, content_type="application/json")
        assert response.status_code == 404, (body, response.content)
    assert client.post(url, {"note": "where?"}, content_type="application/json"
                       ).status_code == 400
    convo.refresh_from_db()
    assert (convo.handling_account, convo.team) == (two_brands["a1"], two_brands["team_a"])
    assert not Message.objects.filter(conversation=convo).exists()


def test_an_agent_lists_the_brands_transfer_targets(client, two_brands) -> None:
    brand = two_brands["brand_a"]
    agent = two_brands["agent_a"]  # serves a2 only; /api/v1/accounts/ shows them a2 alone
    central = make_team(brand=brand, name="Central care")  # every account
    closed = make_account(brand=brand, name="A closed hotel", is_active=False)
    client.force_login(agent.user)
    response = client.get(f"{API}transfer-targets/")
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["accounts"] == [
        {"id": two_brands["a1"].pk, "name": "A flagship"},
        {"id": two_brands["a2"].pk, "name": "A property"},
    ]
    assert closed.pk not in [a["id"] for a in body["accounts"]]
    assert body["teams"] == [
        {"id": two_brands["team_a"].pk, "name": "A team", "accounts": [two_brands["a1"].pk]},
        {"id": central.pk, "name": "Central care", "accounts": []},
    ]
    assert "B flagship" not in response.content.decode()
    assert "B team" not in response.content.decode()


def test_transfer_targets_need_a_member_or_a_key(client, two_brands) -> None:
    assert client.get(f"{API}transfer-targets/").status_code in (401, 403)
