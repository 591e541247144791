"""What the console reads about people and previews from the conversation API: the
person's headline (`display_name`), every row's last message (`last_message`, read in
the list's own query), the profile's language in words, and a blank reply refused."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from followers.models import Customer
from messaging.models import Conversation, Message
from routing.realtime import _event
from tests.factories import make_conversation, make_follower
from tests.messaging.reply_support import wired  # noqa: F401 - fixture

pytestmark = pytest.mark.django_db
API = "/api/v1/conversations/"


def _message(conversation: Conversation, *, minutes_ago: int, **fields: object) -> Message:
    message = Message.objects.create(
        brand_id=conversation.brand_id, conversation=conversation,
        account_id=conversation.channel_account_id, **{"direction": "in", **fields},
    )
    at = timezone.now() - timedelta(minutes=minutes_ago)
    Message.objects.filter(pk=message.pk).update(created_at=at)
    message.created_at = at
    return message


def _rows(client, **params) -> dict[int, dict]:  # noqa: ANN001
    response = client.get(API, params)
    assert response.status_code == 200, response.content
    return {row["id"]: row for row in response.json()["results"]}


@pytest.fixture
def people(two_brands: dict) -> dict:
    a1 = two_brands["a1"]
    named = Customer.objects.create(brand=two_brands["brand_a"], name="Mei Lin")
    by_name = make_conversation(follower=make_follower(
        account=a1, openid="o_named", customer=named, remark="Room 1208", language="zh_CN"))
    by_remark = make_conversation(follower=make_follower(
        account=a1, openid="o_remarked", remark="Room 1208", language="zh_TW"))
    by_number = make_conversation(follower=make_follower(
        account=a1, openid="o_nobody", language="en"))
    return {**two_brands, "by_name": by_name, "by_remark": by_remark, "by_number": by_number}


def test_every_row_is_headed_by_a_name_a_remark_or_the_customer_number(client, people):
    p = people
    client.force_login(p["admin_a"].user)
    rows = _rows(client)
    assert rows[p["by_name"].pk]["display_name"] == "Mei Lin"
    assert rows[p["by_remark"].pk]["display_name"] == "Room 1208"
    number = p["by_number"].customer_id
    assert rows[p["by_number"].pk]["display_name"] == f"Customer #{number}"
    # The openid stays available, never as the headline.
    assert rows[p["by_number"].pk]["follower"]["openid"] == "o_nobody"
    assert all(not row["display_name"].startswith("o_") for row in rows.values())

    detail = client.get(f"{API}{p['by_number'].pk}/").json()
    assert detail["display_name"] == f"Customer #{number}"
    chinese = client.get(f"{API}{p['by_number'].pk}/", HTTP_ACCEPT_LANGUAGE="zh-hans").json()
    assert chinese["display_name"] == f"客户 #{number}"


def test_the_profile_names_the_person_and_their_language_in_words(client, people):
    p = people
    client.force_login(p["admin_a"].user)

    def profile(conversation: Conversation, language: str = "en") -> dict:
        url = reverse("console_profile", args=[conversation.pk])
        return client.get(url, HTTP_ACCEPT_LANGUAGE=language).json()

    named = profile(p["by_name"])
    assert (named["display_name"], named["language_name"]) == ("Mei Lin", "Chinese (Simplified)")
    assert named["identities"][0]["openid"] == "o_named"
    remarked = profile(p["by_remark"])
    assert (remarked["display_name"], remarked["language_name"]) == (
        "Room 1208", "Chinese (Traditional)")
    assert profile(p["by_number"])["language_name"] == "English"
    assert profile(p["by_name"], "zh-hans")["language_name"] == "中文（简体）"
    assert profile(p["by_number"], "zh-hans")["language_name"] == "英语"


def test_each_row_carries_its_last_message_notes_aside(client, people):
    p = people
    client.force_login(p["admin_a"].user)
    _message(p["by_name"], minutes_ago=9, content="first")
    latest = _message(p["by_name"], minutes_ago=5,
                      content="Is   breakfast\nincluded?  " + "x" * 400)
    _message(p["by_name"], minutes_ago=1, direction="note", content="VIP guest")
    photo = _message(p["by_remark"], minutes_ago=2, msg_type="image", content="")
    spoken = _message(p["by_number"], minutes_ago=3, msg_type="voice",
                      content="recognised words")

    rows = _rows(client)
    text = rows[p["by_name"].pk]["last_message"]
    assert text["msg_type"] == "text" and text["direction"] == "in"
    assert text["snippet"].startswith("Is breakfast included? xxx")
    assert len(text["snippet"]) == 80 and text["snippet"].endswith("…")
    assert text["at"] == latest.created_at.isoformat()
    # Other types: the type, no text; the console names them in its own language.
    assert rows[p["by_remark"].pk]["last_message"] == {
        "msg_type": "image", "snippet": "", "direction": "in",
        "at": photo.created_at.isoformat()}
    assert rows[p["by_number"].pk]["last_message"]["msg_type"] == "voice"
    assert rows[p["by_number"].pk]["last_message"]["snippet"] == ""
    assert spoken.pk
    # None yet: null.
    assert rows[p["conversation_a"].pk]["last_message"] is None


def test_the_list_reads_every_preview_in_the_same_queries_whatever_its_length(client, people):
    p = people
    client.force_login(p["admin_a"].user)

    def page_queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            rows = _rows(client, page_size=100)
        assert all(row["last_message"] for row in rows.values()
                   if row["id"] != p["conversation_a"].pk)
        return len(captured)

    for conversation in (p["by_name"], p["by_remark"], p["by_number"]):
        _message(conversation, minutes_ago=4, content="hello")
    few = page_queries()
    for n in range(8):
        conversation = make_conversation(account=p["a1"])
        _message(conversation, minutes_ago=3, msg_type="image")
        _message(conversation, minutes_ago=2, content=f"message {n}")
    assert page_queries() == few
    # The conversations' own query carries the previews: no query per row reads messages.
    listed = [q["sql"] for q in captured_list_queries(client)]
    assert sum('"messaging_message"' in sql for sql in listed) == 1, listed


def captured_list_queries(client) -> list[dict]:  # noqa: ANN001
    with CaptureQueriesContext(connection) as captured:
        _rows(client, page_size=100)
    return captured.captured_queries


def test_the_live_message_event_names_the_type_for_the_screen_to_translate(people):
    conversation = people["by_remark"]
    photo = _message(conversation, minutes_ago=0, msg_type="image")
    payload = {"brand_id": conversation.brand_id, "conversation_id": conversation.pk,
               "message_id": photo.pk, "account_id": conversation.channel_account_id,
               "direction": "in"}
    event = _event("message.created", payload, conversation)
    assert (event["msg_type"], event["snippet"]) == ("image", "")
    words = _message(conversation, minutes_ago=0, content=" Is  the pool\nopen? ")
    event = _event("message.created", {**payload, "message_id": words.pk}, conversation)
    assert (event["msg_type"], event["snippet"]) == ("text", "Is the pool open?")


@pytest.mark.parametrize("text", ["", "   ", "\n\t \n", "\u3000"])
def test_a_blank_reply_is_refused_with_the_reason(client, two_brands, text):
    conversation = two_brands["conversation_a"]
    client.force_login(two_brands["manager_a"].user)  # serves a1
    response = client.post(f"{API}{conversation.pk}/messages/", {"text": text},
                           content_type="application/json")
    assert response.status_code == 400, response.content
    assert response.json()["detail"] == (
        "A reply needs a text, a prepared response or an image: this one is blank.")
    assert not Message.objects.filter(conversation=conversation).exists()
    chinese = client.post(f"{API}{conversation.pk}/messages/", {"text": text},
                          content_type="application/json", HTTP_ACCEPT_LANGUAGE="zh-hans")
    assert chinese.status_code == 400 and "空白" in chinese.json()["detail"]


def test_spaces_beside_an_image_are_not_sent_as_a_text(wired):  # noqa: F811
    from messaging.services import message_reply

    message = message_reply(scope=wired.scope, conversation=wired.conversation, text=" \n ",
                            media_id="MEDIA_ID_1", by=wired.agent)
    message.refresh_from_db()
    assert (message.msg_type, message.content) == ("image", "")
    assert message.payload == {"media_id": "MEDIA_ID_1"}
