"""Transfers over REST: hand on (agent, team, account), where it may go, the ownership
history, hand to a speaker, the transfers waiting for me, accept and decline."""

from __future__ import annotations

import pytest

from accounts.models import Membership
from messaging.models import Conversation, Message
from routing.models import Transfer
from tests.factories import make_account, make_conversation, make_member, make_team

pytestmark = pytest.mark.django_db
API = "/api/v1/conversations/"


def _post(client, url: str, body: dict):
    return client.post(url, body, content_type="application/json")


def _online(member: Membership, **fields) -> Membership:
    Membership.objects.filter(pk=member.pk).update(presence="online", **fields)
    member.refresh_from_db()
    return member


@pytest.fixture
def relay(two_brands):
    """Lily (flagship, team A) holds the guest; Chen is the property's concierge."""
    brand = two_brands["brand_a"]
    concierge = make_team(brand=brand, name="Concierge", accounts=[two_brands["a2"]])
    lily = _online(make_member(brand=brand, accounts=[two_brands["a1"]]), display_name="Lily")
    lily.teams.add(two_brands["team_a"])
    chen = _online(make_member(brand=brand, accounts=[two_brands["a2"]]), display_name="Chen",
                   languages=["zh-hans", "en"], capacity=4)
    chen.teams.add(concierge)
    convo = two_brands["conversation_a"]
    Conversation.objects.filter(pk=convo.pk).update(assignee=lily)
    return {**two_brands, "concierge": concierge, "lily": lily, "chen": chen, "convo": convo}


def test_an_account_relay_over_rest_then_the_concierge_accepts(client, relay) -> None:
    convo = relay["convo"]
    client.force_login(relay["lily"].user)
    response = _post(client, f"{API}{convo.pk}/transfer/", {
        "account": relay["a2"].pk, "team": relay["concierge"].pk, "path": "relay",
        "note": "Airport pick-up at 18:00"})
    assert response.status_code == 204, response.content  # out of Lily's sight now
    assert client.get(f"{API}{convo.pk}/").status_code == 404
    # Lily still reads her hand-over, and sees it among those she sent that wait.
    (transfer,) = Transfer.objects.filter(conversation=convo)
    assert client.get(f"/api/v1/transfers/{transfer.pk}/").json()["status"] == "pending"
    assert [t["id"] for t in client.get("/api/v1/transfers/?sent=1").json()] == [transfer.pk]
    assert client.get("/api/v1/transfers/").json() == []  # nothing waits for her answer

    client.force_login(relay["chen"].user)
    incoming = client.get("/api/v1/transfers/").json()
    assert [(t["id"], t["note"], t["by"]["name"], t["to_team"]["name"]) for t in incoming] == [
        (transfer.pk, "Airport pick-up at 18:00", "Lily", "Concierge")]
    history = client.get(f"{API}{convo.pk}/messages/").json()["results"]
    assert "→ Concierge · A property\nAirport pick-up at 18:00" in [
        m["content"] for m in history if m["direction"] == "system"]
    response = _post(client, f"/api/v1/transfers/{transfer.pk}/accept/", {})
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["status"] == "accepted" and body["decided_by"]["name"] == "Chen"
    assert client.get(f"{API}{convo.pk}/").json()["assignee"]["id"] == relay["chen"].pk
    assert client.get("/api/v1/transfers/").json() == []
    client.force_login(relay["lily"].user)
    assert client.get("/api/v1/transfers/?sent=1").json() == []
    assert client.get(f"/api/v1/transfers/{transfer.pk}/").json()["status"] == "accepted"
    client.force_login(relay["chen"].user)
    again = _post(client, f"/api/v1/transfers/{transfer.pk}/accept/", {})
    assert again.status_code == 409 and again.json()["detail"]


def test_the_ownership_history_and_a_decline(client, relay) -> None:
    convo = relay["convo"]
    client.force_login(relay["lily"].user)
    _post(client, f"{API}{convo.pk}/transfer/", {"account": relay["a2"].pk, "path": "relay",
                                                 "note": "Pick-up"})
    transfer = Transfer.objects.get(conversation=convo)
    client.force_login(relay["chen"].user)
    response = _post(client, f"/api/v1/transfers/{transfer.pk}/decline/",
                     {"reason": "No car tonight"})
    assert response.status_code == 200, response.content
    assert response.json()["decline_reason"] == "No car tonight"
    assert client.get(f"{API}{convo.pk}/").status_code == 404  # back on the flagship
    client.force_login(relay["lily"].user)
    rows = client.get(f"{API}{convo.pk}/transfers/").json()
    assert [(r["kind"], r["path"], r["status"], r["from_agent"]["name"], r["to_account"]["name"])
            for r in rows] == [("account", "relay", "declined", "Lily", "A property")]
    assert client.get(f"{API}{convo.pk}/").json()["assignee"]["id"] == relay["lily"].pk


def test_a_transfer_to_an_agent_and_its_refusals(client, relay) -> None:
    convo = relay["convo"]
    rosa = _online(make_member(brand=relay["brand_a"], accounts=[relay["a1"]]),
                   display_name="Rosa", capacity=1)
    client.force_login(relay["lily"].user)
    url = f"{API}{convo.pk}/transfer/"
    blank = _post(client, url, {"agent": rosa.pk, "note": " "})
    assert blank.status_code == 400 and "note" in blank.json()["detail"]
    make_conversation(account=relay["a1"], assignee=rosa)
    full = _post(client, url, {"agent": rosa.pk, "note": "Cantonese"})
    assert full.status_code == 409 and "Rosa is full" in full.json()["detail"]
    Membership.objects.filter(pk=rosa.pk).update(capacity=3)
    response = _post(client, url, {"agent": rosa.pk, "note": "Cantonese"})
    assert response.status_code == 200, response.content
    assert response.json()["assignee"]["id"] == rosa.pk
    assert _post(client, url, {"team": relay["team_a"].pk, "path": "relay", "note": "x"}
                 ).status_code == 400  # a path is for an account


def test_rest_refuses_foreign_targets_and_empty_transfers(client, relay) -> None:
    convo = relay["convo"]
    foreign = make_member(brand=relay["brand_b"], accounts=[relay["b1"]])
    client.force_login(relay["admin_a"].user)
    url = f"{API}{convo.pk}/transfer/"
    for body in ({"account": relay["b1"].pk}, {"team": relay["team_b"].pk},
                 {"agent": foreign.pk}):
        response = _post(client, url, {**body, "note": "x"})
        assert response.status_code == 404, (body, response.content)
    assert _post(client, url, {"note": "where?"}).status_code == 400
    convo.refresh_from_db()
    assert (convo.handling_account, convo.team) == (relay["a1"], relay["team_a"])
    assert not Message.objects.filter(conversation=convo).exists()
    # Another brand's member cannot read, answer or list A's transfers.
    client.force_login(relay["lily"].user)
    _post(client, url, {"account": relay["a2"].pk, "path": "relay", "note": "x"})
    transfer = Transfer.objects.get(conversation=convo)
    client.force_login(relay["admin_b"].user)
    assert client.get(f"/api/v1/transfers/{transfer.pk}/").status_code == 404
    assert _post(client, f"/api/v1/transfers/{transfer.pk}/accept/", {}).status_code == 404
    assert _post(client, f"/api/v1/transfers/{transfer.pk}/decline/", {}).status_code == 404
    assert client.get(f"{API}{convo.pk}/transfers/").status_code == 404
    assert client.get("/api/v1/transfers/").json() == []


def test_an_agent_hands_a_conversation_to_another_team_over_rest(client, two_brands) -> None:
    brand, a2 = two_brands["brand_a"], two_brands["a2"]
    agent = two_brands["agent_a"]  # serves a2
    weekend = make_team(brand=brand, name="Weekend", accounts=[a2])
    convo = make_conversation(account=a2)
    client.force_login(agent.user)
    response = _post(client, f"{API}{convo.pk}/transfer/", {"team": weekend.pk, "note": "VIP"})
    # Still on a2, which the agent serves: they see where it went.
    assert response.status_code == 200, response.content
    assert response.json()["team"] == {"id": weekend.pk, "name": "Weekend"}
    messages = client.get(f"{API}{convo.pk}/messages/").json()["results"]
    assert [m["content"] for m in messages if m["direction"] == "system"] == [
        "→ Weekend · A property\nVIP"]


def test_hand_to_a_speaker_over_rest(client, relay) -> None:
    convo = relay["convo"]
    wing = _online(make_member(brand=relay["brand_a"], accounts=[relay["a1"]]),
                   display_name="Wing", languages=["zh-hant"])
    wing.teams.add(relay["team_a"])
    Membership.objects.filter(pk=relay["lily"].pk).update(languages=["en"])
    client.force_login(relay["lily"].user)
    url = f"{API}{convo.pk}/hand-to-speaker/"
    response = _post(client, url, {"language": "zh-hant", "note": ""})
    assert response.status_code == 200, response.content
    assert response.json()["assignee"]["id"] == wing.pk
    assert Transfer.objects.get(conversation=convo).note == "Needs a Traditional Chinese speaker."
    client.force_login(wing.user)
    nobody = _post(client, url, {"language": "zh-hans"})
    assert nobody.status_code == 409 and "Simplified Chinese" in nobody.json()["detail"]
    assert _post(client, url, {"language": "fr"}).status_code == 400


def test_an_agent_lists_the_brands_transfer_targets(client, two_brands) -> None:
    brand = two_brands["brand_a"]
    agent = two_brands["agent_a"]  # serves a2 only; /api/v1/accounts/ shows them a2 alone
    central = make_team(brand=brand, name="Central care")  # every account
    closed = make_account(brand=brand, name="A closed hotel", is_active=False)
    Membership.objects.filter(pk=agent.pk).update(display_name="Ana", presence="online",
                                                  languages=["en"], capacity=3)
    make_conversation(account=two_brands["a2"], assignee=agent)
    client.force_login(agent.user)
    response = client.get(f"{API}transfer-targets/")
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["accounts"] == [
        {"id": two_brands["a1"].pk, "name": "A flagship"},
        {"id": two_brands["a2"].pk, "name": "A property"},
    ]
    assert closed.pk not in [a["id"] for a in body["accounts"]]
    assert [(t["id"], t["name"], t["accounts"]) for t in body["teams"]] == [
        (two_brands["team_a"].pk, "A team", [two_brands["a1"].pk]),
        (central.pk, "Central care", []),
    ]
    ana = next(a for a in body["agents"] if a["id"] == agent.pk)
    assert ana == {"id": agent.pk, "name": "Ana", "presence": "online", "languages": ["en"],
                   "load": 1, "capacity": 3, "accounts": [two_brands["a2"].pk], "teams": []}
    assert {a["id"] for a in body["agents"]} == set(
        Membership.objects.filter(brand=brand).values_list("pk", flat=True))
    assert two_brands["admin_b"].pk not in {a["id"] for a in body["agents"]}
    assert "B flagship" not in response.content.decode()
    assert "B team" not in response.content.decode()


def test_transfer_routes_need_a_member_or_a_key(client, two_brands) -> None:
    convo = two_brands["conversation_a"]
    for url in (f"{API}transfer-targets/", "/api/v1/transfers/", f"{API}{convo.pk}/transfers/"):
        assert client.get(url).status_code in (401, 403), url
