"""REST for conversations, messages and prepared responses, scoped like everything else."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from accounts.services import api_key_create
from followers.models import Customer, Follower, Tag
from messaging.models import Conversation, Message, PreparedResponse
from tests.factories import make_conversation, make_follower, make_member, make_team
from tests.messaging.reply_support import Wired, wired  # noqa: F401 - fixture

pytestmark = pytest.mark.django_db
API = "/api/v1/conversations/"


def _ids(response) -> list[int]:  # noqa: ANN001
    assert response.status_code == 200, response.content
    return [row["id"] for row in response.json()["results"]]


@pytest.fixture
def inbox(two_brands: dict) -> dict:
    """Brand A: one conversation per box, with known waits."""
    a1, a2, team = two_brands["a1"], two_brands["a2"], two_brands["team_a"]
    now = timezone.now()
    manager = two_brands["manager_a"]  # serves a1
    manager.teams.add(team)
    Conversation.objects.filter(pk=two_brands["conversation_a"].pk).update(
        waiting_since=now - timedelta(minutes=3)
    )
    mine = make_conversation(account=a1, assignee=manager,
                             waiting_since=now - timedelta(minutes=40), language="en")
    on_a2 = make_conversation(account=a2, waiting_since=now - timedelta(minutes=10))
    resolved = make_conversation(account=a1, status="resolved", waiting_since=None)
    tag = Tag.objects.create(brand=two_brands["brand_a"], name="VIP")
    on_a2.follower.tags.add(tag)
    return {**two_brands, "mine": mine, "on_a2": on_a2, "resolved": resolved, "tag": tag}


def test_boxes_and_filters(client, inbox: dict) -> None:
    client.force_login(inbox["admin_a"].user)
    team_box = f"team:{inbox['team_a'].pk}"
    conv_a, mine, on_a2 = inbox["conversation_a"].pk, inbox["mine"].pk, inbox["on_a2"].pk
    assert _ids(client.get(API, {"status": "live"})) == [mine, on_a2, conv_a]
    assert inbox["resolved"].pk in _ids(client.get(API))
    assert _ids(client.get(API, {"box": "unassigned", "status": "open"})) == [on_a2, conv_a]
    assert _ids(client.get(API, {"box": team_box})) == [conv_a]
    assert _ids(client.get(API, {"account": inbox["a2"].pk})) == [on_a2]
    assert _ids(client.get(API, {"waiting": 5})) == [mine, on_a2]
    assert _ids(client.get(API, {"language": "en"})) == [mine]
    assert _ids(client.get(API, {"tag": "VIP"})) == [on_a2]
    assert _ids(client.get(API, {"tag": inbox["tag"].pk})) == [on_a2]
    assert client.get(API, {"box": "nonsense"}).status_code == 400
    assert client.get(API, {"status": "nonsense"}).status_code == 400

    client.force_login(inbox["manager_a"].user)
    assert _ids(client.get(API, {"box": "mine"})) == [mine]


def test_counts_per_box(client, inbox: dict) -> None:
    client.force_login(inbox["manager_a"].user)  # a1 and team A
    counts = client.get(API + "counts/").json()
    assert counts == {"mine": 1, "unassigned": 1, "all": 2, "snoozed": 0,
                      f"team:{inbox['team_a'].pk}": 1}


def test_an_agent_sees_their_accounts_and_their_teams_only(client, inbox: dict) -> None:
    agent = inbox["agent_a"]  # serves a2
    client.force_login(agent.user)
    assert _ids(client.get(API)) == [inbox["on_a2"].pk]
    foreign = inbox["conversation_a"].pk  # a1, team A
    assert client.get(f"{API}{foreign}/").status_code == 404
    assert client.post(f"{API}{foreign}/resolve/").status_code == 404
    assert client.get(f"{API}{foreign}/messages/").status_code == 404
    # Joining team A brings its queue into sight.
    agent.teams.add(inbox["team_a"])
    assert client.get(f"{API}{foreign}/").status_code == 200


def test_retrieve_shows_the_reply_window(client, two_brands: dict) -> None:
    client.force_login(two_brands["admin_a"].user)
    body = client.get(f"{API}{two_brands['conversation_a'].pk}/").json()
    assert body["window"]["open"] is True and body["window"]["sends_left"] == 5
    assert body["window"]["kind"] == "long" and body["window"]["reason"] == ""
    Follower.objects.filter(pk=two_brands["conversation_a"].follower_id).update(
        window_opened_at=timezone.now() - timedelta(days=3)
    )
    window = client.get(f"{API}{two_brands['conversation_a'].pk}/").json()["window"]
    assert window["open"] is False and window["sends_left"] == 0
    assert window["reason"] == "outside the 48-hour window: the follower must write first"


def test_assign_claim_resolve_snooze(client, inbox: dict) -> None:
    client.force_login(inbox["admin_a"].user)
    convo = inbox["conversation_a"].pk
    manager = inbox["manager_a"]
    response = client.post(f"{API}{convo}/assign/", {"assignee": manager.pk},
                           content_type="application/json")
    assert response.status_code == 200 and response.json()["assignee"]["id"] == manager.pk
    # Agent A serves a2 only: not a possible assignee of an a1 conversation.
    response = client.post(f"{API}{convo}/assign/", {"assignee": inbox["agent_a"].pk},
                           content_type="application/json")
    assert response.status_code == 409
    # A foreign member id is not found.
    response = client.post(f"{API}{convo}/assign/", {"assignee": inbox["admin_b"].pk},
                           content_type="application/json")
    assert response.status_code == 404
    response = client.post(f"{API}{convo}/assign/", {"assignee": None},
                           content_type="application/json")
    assert response.json()["assignee"] is None

    response = client.post(f"{API}{convo}/snooze/", {"minutes": 30},
                           content_type="application/json")
    assert response.status_code == 200 and response.json()["status"] == "snoozed"
    response = client.post(f"{API}{convo}/resolve/")
    assert response.json()["status"] == "resolved" and response.json()["resolved_at"]
    assert client.post(f"{API}{convo}/snooze/", {}, content_type="application/json") \
        .status_code == 400


def test_claim_next_answers_the_conversation_then_204(client, inbox: dict) -> None:
    client.force_login(inbox["agent_a"].user)  # a2: one unassigned open conversation
    response = client.post(API + "claim_next/")
    assert response.status_code == 200 and response.json()["id"] == inbox["on_a2"].pk
    assert response.json()["assignee"]["id"] == inbox["agent_a"].pk
    assert client.post(API + "claim_next/").status_code == 204


def test_notes_and_refused_replies(client, two_brands: dict) -> None:
    convo = two_brands["conversation_a"]
    client.force_login(two_brands["manager_a"].user)
    url = f"{API}{convo.pk}/messages/"
    response = client.post(url, {"kind": "note", "text": "Call back at 5"},
                           content_type="application/json")
    assert response.status_code == 201 and response.json()["direction"] == "note"
    Follower.objects.filter(pk=convo.follower_id).update(subscribed=False)
    response = client.post(url, {"text": "Hello?"}, content_type="application/json")
    assert response.status_code == 409
    assert response.json() == {"detail": "the follower has unfollowed"}
    response = client.post(url, {"text": "a", "prepared_key": "b"},
                           content_type="application/json")
    assert response.status_code == 400
    listed = client.get(url).json()["results"]
    assert [(m["direction"], m["content"]) for m in listed] == [("note", "Call back at 5")]


def test_a_reply_over_rest_reaches_the_sandbox(
    client, wired: Wired, django_capture_on_commit_callbacks  # noqa: F811
) -> None:
    client.force_login(wired.agent.user)
    url = f"{API}{wired.conversation.pk}/messages/"
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(url, {"text": "Yes, breakfast is included."},
                               content_type="application/json")
    assert response.status_code == 201, response.content
    assert response.json()["sender_display"] == "Lily · A flagship"
    message = Message.objects.get(pk=response.json()["id"])
    assert message.status == "sent"
    assert wired.texts() == ["Yes, breakfast is included."]
    assert client.get(url).json()["results"][-1]["status"] == "sent"


def test_history_spans_the_customers_accounts_within_my_scope(client, two_brands: dict) -> None:
    a1, a2 = two_brands["a1"], two_brands["a2"]
    customer = Customer.objects.create(brand=two_brands["brand_a"], name="Ms Li")
    on_a1 = make_conversation(follower=make_follower(account=a1, customer=customer))
    on_a2 = make_conversation(follower=make_follower(account=a2, customer=customer))
    for convo, text in ((on_a1, "hello flagship"), (on_a2, "hello property")):
        Message.objects.create(brand=convo.brand, conversation=convo, account=convo.channel_account,
                               direction="in", content=text)
    client.force_login(two_brands["admin_a"].user)
    rows = client.get(f"{API}{on_a2.pk}/history/").json()["results"]
    assert [(r["content"], r["account"]["name"]) for r in rows] == [
        ("hello flagship", "A flagship"), ("hello property", "A property"),
    ]
    client.force_login(two_brands["agent_a"].user)  # serves a2 only
    rows = client.get(f"{API}{on_a2.pk}/history/").json()["results"]
    assert [r["content"] for r in rows] == ["hello property"]


def test_prepared_responses_library(client, two_brands: dict) -> None:
    brand, a1, a2 = two_brands["brand_a"], two_brands["a1"], two_brands["a2"]
    for account, body in ((None, "Brand hello"), (a1, "Flagship hello"), (a2, "Property hello")):
        PreparedResponse.objects.create(brand=brand, account=account, key="greeting",
                                        title="Greeting", language="en", body=body)
    url = "/api/v1/prepared-responses/"
    client.force_login(two_brands["agent_a"].user)  # a2
    bodies = {r["body"] for r in client.get(url).json()["results"]}
    assert bodies == {"Brand hello", "Property hello"}
    found = client.get(url + "search/", {"account": a2.pk, "q": "hello", "language": "en"})
    assert [r["body"] for r in found.json()["results"]] == ["Property hello"]
    assert client.get(url + "search/", {"account": a1.pk}).status_code == 404
    created = client.post(url, {"key": "x", "language": "en", "body": "x"},
                          content_type="application/json")
    assert created.status_code == 403

    client.force_login(two_brands["admin_a"].user)
    created = client.post(url, {"key": "parking", "language": "zh-hans", "body": "免费停车",
                                "account": a1.pk}, content_type="application/json")
    assert created.status_code == 201, created.content
    pk = created.json()["id"]
    changed = client.patch(f"{url}{pk}/", {"body": "停车免费"}, content_type="application/json")
    assert changed.status_code == 200 and changed.json()["body"] == "停车免费"
    foreign = client.post(url, {"key": "p", "language": "en", "body": "p",
                                "account": two_brands["b1"].pk},
                          content_type="application/json")
    assert foreign.status_code == 404
    assert client.delete(f"{url}{pk}/").status_code == 204


def test_an_api_key_lists_its_brands_conversations_only(client, two_brands: dict) -> None:
    _key, raw = api_key_create(brand=two_brands["brand_a"], name="crm")
    response = client.get(API, HTTP_AUTHORIZATION=f"Bearer {raw}")
    assert _ids(response) == [two_brands["conversation_a"].pk]
    response = client.post(API + "claim_next/", HTTP_AUTHORIZATION=f"Bearer {raw}")
    assert response.status_code == 403  # a key has no queues to claim from


def test_a_team_box_counts_for_team_members(client, two_brands: dict) -> None:
    brand, a2 = two_brands["brand_a"], two_brands["a2"]
    team = make_team(brand=brand, name="Weekend", accounts=[a2])
    member = make_member(brand=brand, accounts=[a2])
    member.teams.add(team)
    make_conversation(account=a2, team=team)
    client.force_login(member.user)
    counts = client.get(API + "counts/").json()
    assert counts[f"team:{team.pk}"] == 1 and counts["unassigned"] == 1


def test_an_image_upload_over_rest_is_sent(
    client, wired: Wired, django_capture_on_commit_callbacks, settings, tmp_path  # noqa: F811
) -> None:
    from django.core.files.uploadedfile import SimpleUploadedFile

    from tests.messaging.test_replies_sandbox import PNG

    settings.MEDIA_ROOT = tmp_path
    client.force_login(wired.agent.user)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(f"{API}{wired.conversation.pk}/messages/",
                               {"image": SimpleUploadedFile("lobby.png", PNG, "image/png")})
    assert response.status_code == 201, response.content
    assert Message.objects.get(pk=response.json()["id"]).status == "sent"
    assert [m["msgtype"] for m in wired.inbox()] == ["image"]
    response = client.post(f"{API}{wired.conversation.pk}/messages/",
                           {"image": SimpleUploadedFile("notes.txt", b"hi", "text/plain")})
    assert response.status_code == 400
