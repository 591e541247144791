"""Bad input to the REST API is a 400 that says what is wrong, and changes nothing.

A NUL character anywhere (PostgreSQL refuses it: it was a 500), a field a write does not
take (it was silently dropped), a value of the wrong JSON type (DRF took "1" for true),
and the query parameters that reached the database unchecked.
"""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from accounts.models import OfficialAccount, Team
from followers.models import Tag
from messaging.models import PreparedResponse
from tests.api_support import (
    operations,
    request_schema,
    seed,
    snapshot,
    url,
    write_operations,
)
from tests.factories import make_conversation, make_follower

pytestmark = pytest.mark.django_db


@pytest.fixture
def ids(two_brands) -> dict:
    return seed(two_brands)


def _send(client, method: str, path: str, ids: dict, body: object = None, **extra):  # noqa: ANN001, ANN202
    kwargs = {"content_type": "application/json"} if body is not None else {}
    if body is not None:
        kwargs["data"] = body
    return getattr(client, method.lower())(url(path, ids) + extra.pop("query", ""),
                                           **kwargs, **ids["auth"], **extra)


# -- NUL ----------------------------------------------------------------------------------


@pytest.mark.parametrize("method,path", operations())
def test_a_nul_in_a_query_parameter_is_400_on_every_operation(client, ids, method, path):
    before = snapshot()
    response = _send(client, method, path, ids, query="?q=a%00b")
    assert response.status_code == 400, response.content
    assert response.json() == {"detail": "The query parameter 'q' contains a NUL character."}
    assert snapshot() == before


@pytest.mark.parametrize("method,path", write_operations())
def test_a_nul_in_a_body_field_is_400_on_every_write(client, ids, method, path):
    field = sorted(request_schema(method, path)["properties"])[0]
    before = snapshot()
    response = _send(client, method, path, ids, body={field: "a\x00b"})
    assert response.status_code == 400, response.content
    assert response.json() == {"detail": f"The field '{field}' contains a NUL character."}
    assert snapshot() == before


def test_a_query_parameter_given_twice_is_400(client, ids):
    # Django keeps the last one: ?account=junk&account=1 looked like a valid filter.
    response = client.get("/api/v1/conversations/?account=junk&account=1", **ids["auth"])
    assert response.status_code == 400
    assert response.json() == {"detail": "The query parameter 'account' is given more than once."}


def test_an_empty_query_parameter_means_not_given(client, ids):
    everything = client.get("/api/v1/members/", **ids["auth"]).json()
    for query in ("role=", "page_size=", "page=", "search=", "ordering="):
        response = client.get(f"/api/v1/members/?{query}", **ids["auth"])
        assert response.status_code == 200 and response.json() == everything, query


def test_a_nul_deep_in_a_body_or_in_a_field_name_is_400_too(client, ids):
    before = snapshot()
    for body, name in [({"languages": ["en", "x\x00"]}, "languages"),
                       ({"name\x00": "x"}, "name\\x00")]:
        response = client.patch(f"/api/v1/teams/{ids['team']}/", body,
                                content_type="application/json", **ids["auth"])
        assert response.status_code == 400
        assert response.json()["detail"] == f"The field '{name}' contains a NUL character."
    assert snapshot() == before


def test_a_nul_in_a_multipart_field_is_400_and_the_image_is_not_sent(client, ids):
    before = snapshot()
    response = client.post(
        f"/api/v1/conversations/{ids['conversation']}/messages/",
        {"text": "hi\x00", "image": SimpleUploadedFile("x.png", b"\x00\x89PNG", "image/png")},
        **ids["auth"],
    )
    assert response.status_code == 400
    assert response.json() == {"detail": "The field 'text' contains a NUL character."}
    assert snapshot() == before


# -- fields a write does not take ---------------------------------------------------------


@pytest.mark.parametrize("method,path", write_operations())
def test_every_write_refuses_an_unknown_field(client, ids, method, path):
    before = snapshot()
    response = _send(client, method, path, ids, body={"no_such_field": 1})
    assert response.status_code == 400, response.content
    assert response.json()["no_such_field"][0].startswith("Unknown field.")
    assert snapshot() == before


@pytest.mark.parametrize("method,path", [
    (m, p) for m, p in write_operations() if p.startswith(("/api/v1/accounts/",
                                                            "/api/v1/teams/",
                                                            "/api/v1/members/",
                                                            "/api/v1/prepared-responses/"))
])
def test_every_write_refuses_a_field_that_is_only_read(client, ids, method, path):
    before = snapshot()
    response = _send(client, method, path, ids, body={"id": 1})
    assert response.status_code == 400, response.content
    assert response.json() == {"id": ["This field is read-only."]}
    assert snapshot() == before


def test_a_team_is_written_with_the_names_it_is_read_with(client, ids, two_brands):
    a1, a2 = two_brands["a1"], two_brands["a2"]
    created = client.post("/api/v1/teams/", {"name": "Night", "accounts": [a1.pk, a2.pk],
                                             "languages": ["en", "ja"]},
                          content_type="application/json", **ids["auth"])
    assert created.status_code == 201, created.content
    read = client.get(f"/api/v1/teams/{created.json()['id']}/", **ids["auth"]).json()
    assert sorted(read["accounts"]) == sorted([a1.pk, a2.pk])
    assert read["languages"] == ["en", "ja"]
    # The old write-only name is refused, not ignored.
    before = snapshot()
    old = client.patch(f"/api/v1/teams/{read['id']}/", {"account_ids": [a1.pk]},
                       content_type="application/json", **ids["auth"])
    assert old.status_code == 400 and "account_ids" in old.json()
    assert snapshot() == before


def test_a_member_is_written_with_the_names_it_is_read_with(client, ids, two_brands):
    member, team = two_brands["agent_a"], two_brands["team_a"]
    changed = client.patch(f"/api/v1/members/{member.pk}/",
                           {"accounts": [two_brands["a1"].pk], "teams": [team.pk]},
                           content_type="application/json", **ids["auth"])
    assert changed.status_code == 200, changed.content
    assert (changed.json()["accounts"], changed.json()["teams"]) == (
        [two_brands["a1"].pk], [team.pk]
    )
    member.refresh_from_db()
    assert list(member.teams.all()) == [team]


def test_a_put_is_a_whole_replacement_and_needs_the_required_fields(client, ids):
    team = Team.objects.get(pk=ids["team"])
    response = client.put(f"/api/v1/teams/{team.pk}/", {"is_central": True},
                          content_type="application/json", **ids["auth"])
    assert response.status_code == 400 and "name" in response.json()
    team.refresh_from_db()
    assert team.is_central is False


# -- JSON types ---------------------------------------------------------------------------


@pytest.mark.parametrize("body,field,message", [
    ({"is_central": 1}, "is_central", "Must be true or false."),
    ({"is_central": "true"}, "is_central", "Must be true or false."),
    ({"name": 5}, "name", "Must be a string."),
    ({"accounts": "1"}, "accounts", "Must be a list."),
    ({"accounts": [True]}, "accounts", {"0": ["Must be an integer."]}),
    ({"accounts": ["1"]}, "accounts", {"0": ["Must be an integer."]}),
    ({"languages": {}}, "languages", "Must be a list."),
])
def test_a_value_of_the_wrong_json_type_is_refused(client, ids, body, field, message):
    before = snapshot()
    response = client.patch(f"/api/v1/teams/{ids['team']}/", body,
                            content_type="application/json", **ids["auth"])
    assert response.status_code == 400
    expected = message if isinstance(message, dict) else [message]
    assert response.json()[field] == expected
    assert snapshot() == before


def test_languages_sent_as_an_object_are_refused_not_stored(client, ids, two_brands):
    # A JSONField took anything: an object (or a multipart string) was stored as "{}".
    before = snapshot()
    for target in (f"/api/v1/teams/{ids['team']}/", f"/api/v1/accounts/{ids['account']}/",
                   f"/api/v1/members/{ids['member']}/"):
        for languages in ({}, {"en": True}, "en", ["klingon"]):
            response = client.patch(target, {"languages": languages},
                                    content_type="application/json", **ids["auth"])
            assert response.status_code == 400, (target, languages, response.content)
            assert "languages" in response.json()
    assert snapshot() == before


def test_a_multipart_body_is_refused_where_only_json_is_read(client, ids):
    before = snapshot()
    response = client.post("/api/v1/teams/", {"name": "Form team", "languages": "{}"},
                           **ids["auth"])
    assert response.status_code == 415
    assert "multipart/form-data" in response.json()["detail"]
    assert snapshot() == before
    assert not Team.objects.filter(name="Form team").exists()


# -- query parameters ---------------------------------------------------------------------


def test_a_tag_that_is_not_ascii_digits_is_a_name(client, ids, two_brands):
    # "³" passes str.isdigit() and then broke int(): a 500. It is a name like any other.
    brand, account = two_brands["brand_a"], two_brands["a1"]
    follower = make_follower(account=account)
    follower.tags.add(Tag.objects.create(brand=brand, name="³"))
    tagged = make_conversation(follower=follower)
    by_name = client.get("/api/v1/conversations/", {"tag": "³"}, **ids["auth"])
    assert by_name.status_code == 200
    assert [c["id"] for c in by_name.json()["results"]] == [tagged.pk]
    by_id = client.get("/api/v1/conversations/", {"tag": follower.tags.get().pk}, **ids["auth"])
    assert [c["id"] for c in by_id.json()["results"]] == [tagged.pk]
    nothing = client.get("/api/v1/conversations/", {"tag": "٣"}, **ids["auth"])
    assert nothing.status_code == 200 and nothing.json()["count"] == 0


@pytest.mark.parametrize("query,field", [
    ({"waiting": "99999999999"}, "waiting"),  # past datetime.min: OverflowError, a 500
    ({"waiting": "-1"}, "waiting"),
    ({"account": "abc"}, "account"),
    ({"status": "sleeping"}, "status"),
    ({"box": "team:x"}, "box"),
    ({"box": " mine"}, "box"),
])
def test_conversation_filters_are_checked_before_the_query(client, ids, query, field):
    response = client.get("/api/v1/conversations/", query, **ids["auth"])
    assert response.status_code == 400, response.content
    assert field in response.json()


@pytest.mark.parametrize("query,field", [
    ({"verified": "maybe"}, "verified"),
    ({"verified": "null"}, "verified"),
    ({"page_size": "null"}, "page_size"),
    ({"page_size": "0"}, "page_size"),
    ({"page_size": "2.5"}, "page_size"),
])
def test_a_list_refuses_a_filter_or_page_size_it_cannot_read(client, ids, query, field):
    # Both used to be ignored: ?verified=maybe listed every account.
    response = client.get("/api/v1/accounts/", query, **ids["auth"])
    assert response.status_code == 400, response.content
    assert field in response.json()


def test_a_page_size_above_the_maximum_gets_the_maximum(client, ids):
    response = client.get("/api/v1/accounts/", {"page_size": "100000"}, **ids["auth"])
    assert response.status_code == 200 and response.json()["count"] == 2


def test_a_path_that_names_no_route_is_a_json_404(client, ids):
    for path in ("/api/v1/accounts/abc/", "/api/v1/accounts/0.5/", "/api/v1/nothing/"):
        response = client.get(path, **ids["auth"])
        assert response.status_code == 404
        assert response.json() == {"detail": "Not found."}


def test_the_prepared_library_filters_a_foreign_account_like_a_missing_one(
    client, ids, two_brands
):
    # A choice among every brand's accounts said 400 for a missing id and 200 for a
    # foreign one: existence leaked.
    PreparedResponse.objects.create(brand=two_brands["brand_b"], account=two_brands["b1"],
                                    key="theirs", title="Theirs", language="en", body="x")
    foreign = client.get("/api/v1/prepared-responses/", {"account": two_brands["b1"].pk},
                         **ids["auth"])
    missing = client.get("/api/v1/prepared-responses/", {"account": 987654321},
                         **ids["auth"])
    assert foreign.status_code == missing.status_code == 200
    assert foreign.json() == missing.json() and foreign.json()["count"] == 0


# -- what the schema promised -------------------------------------------------------------


def test_prepared_search_answers_a_page_like_every_list(client, ids, two_brands):
    for key in ("a", "b", "c"):
        PreparedResponse.objects.create(brand=two_brands["brand_a"], key=key, title=key,
                                        language="en", body=f"text {key}")
    response = client.get("/api/v1/prepared-responses/search/", {"page_size": 2},
                          **ids["auth"])
    assert response.status_code == 200
    page = response.json()
    assert page["count"] == 4 and len(page["results"]) == 2 and page["next"]
    assert page["results"][0]["key"] == "a"


def test_a_prepared_response_cannot_move_to_another_account(client, ids, two_brands):
    before = snapshot()
    for method in ("put", "patch"):
        response = getattr(client, method)(
            f"/api/v1/prepared-responses/{ids['prepared']}/",
            {"account": two_brands["a1"].pk, "key": "hello", "language": "en", "body": "Hi"},
            content_type="application/json", **ids["auth"],
        )
        assert response.status_code == 400
        assert response.json() == {"account": ["This field is read-only."]}
    assert snapshot() == before


def test_a_second_text_for_the_same_key_and_language_is_a_conflict(client, ids):
    before = snapshot()
    response = client.post("/api/v1/prepared-responses/",
                           {"key": "hello", "language": "en", "body": "Again"},
                           content_type="application/json", **ids["auth"])
    assert response.status_code == 409
    assert "already has a text" in response.json()["detail"]
    assert snapshot() == before


def test_an_api_key_cannot_claim_a_conversation(client, ids):
    before = snapshot()
    response = client.post("/api/v1/conversations/claim_next/", **ids["auth"])
    assert response.status_code == 403
    assert "only a member" in response.json()["detail"]
    assert snapshot() == before


def test_assigning_a_member_who_does_not_serve_the_account_is_a_conflict(
    client, ids, two_brands
):
    # agent_a serves a2 only; the conversation is on a1.
    before = snapshot()
    response = client.post(f"/api/v1/conversations/{ids['conversation']}/assign/",
                           {"assignee": two_brands["agent_a"].pk},
                           content_type="application/json", **ids["auth"])
    assert response.status_code == 409
    assert "does not serve" in response.json()["detail"]
    assert snapshot() == before


def test_an_account_id_that_breaks_its_pattern_is_refused_with_the_field(client, ids):
    before = snapshot()
    for appid in ("wx0123456789abcdef\n", " wx0123456789abcdef", "WX0123456789ABCDEF"):
        response = client.patch(f"/api/v1/accounts/{ids['account']}/", {"appid": appid},
                                content_type="application/json", **ids["auth"])
        assert response.status_code == 400
        assert "AppID" in response.json()["appid"][0]
    assert snapshot() == before
    assert not OfficialAccount.objects.filter(appid__startswith="wx0123").exists()
