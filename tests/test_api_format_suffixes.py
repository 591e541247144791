"""The `.json` twins of the API's routes are gone (config/urls.py says why).

They answered 500 on detail routes and actions (`unexpected keyword argument 'format'`).
Now every one of them answers the API's JSON 404 and changes nothing; the routes without
the suffix keep working.
"""

import pytest
from django.urls import get_resolver

from accounts.models import Membership, OfficialAccount, Team
from accounts.services import api_key_create
from messaging.models import Message, PreparedResponse

pytestmark = pytest.mark.django_db

# Every route that had a `.json` twin answering 500, and the list routes' twins.
SUFFIXED = [
    ("put", "/api/v1/accounts/{account}.json"),
    ("patch", "/api/v1/accounts/{account}.json"),
    ("put", "/api/v1/members/{member}.json"),
    ("patch", "/api/v1/members/{member}.json"),
    ("delete", "/api/v1/members/{member}.json"),
    ("put", "/api/v1/teams/{team}.json"),
    ("patch", "/api/v1/teams/{team}.json"),
    ("delete", "/api/v1/teams/{team}.json"),
    ("put", "/api/v1/prepared-responses/{prepared}.json"),
    ("patch", "/api/v1/prepared-responses/{prepared}.json"),
    ("delete", "/api/v1/prepared-responses/{prepared}.json"),
    ("get", "/api/v1/conversations/{conversation}/history.json"),
    ("get", "/api/v1/conversations/{conversation}/messages.json"),
    ("post", "/api/v1/conversations/{conversation}/messages.json"),
    ("get", "/api/v1/conversations/{conversation}/media/{message}.json"),
    ("post", "/api/v1/conversations/{conversation}/resolve.json"),
    ("get", "/api/v1/accounts.json"),
    ("get", "/api/v1/accounts/{account}.json"),
    ("get", "/api/v1/conversations.json"),
    ("get", "/api/v1/prepared-responses/search.json"),
]


@pytest.fixture
def api(client, two_brands) -> dict:
    _key, raw = api_key_create(brand=two_brands["brand_a"], name="suffixes")
    client.defaults["HTTP_AUTHORIZATION"] = f"Bearer {raw}"
    conversation = two_brands["conversation_a"]
    message = Message.objects.create(
        brand=two_brands["brand_a"], conversation=conversation,
        account=conversation.channel_account, direction="in", content="hello",
    )
    prepared = PreparedResponse.objects.create(
        brand=two_brands["brand_a"], key="hello", title="Hello", language="en", body="Hi",
    )
    ids = {
        "account": two_brands["a1"].pk, "member": two_brands["agent_a"].pk,
        "team": two_brands["team_a"].pk, "prepared": prepared.pk,
        "conversation": conversation.pk, "message": message.pk,
    }
    return {"client": client, "ids": ids}


def _counts() -> tuple[int, ...]:
    return tuple(m.objects.count() for m in (OfficialAccount, Membership, Team,
                                             PreparedResponse, Message))


@pytest.mark.parametrize("method,route", SUFFIXED)
def test_a_json_suffix_route_is_a_json_404_not_a_500(api, method, route):
    before = _counts()
    response = getattr(api["client"], method)(
        route.format(**api["ids"]), data={"name": "renamed"}, content_type="application/json"
    )
    assert response.status_code == 404, (method, route, response.content)
    assert response.json() == {"detail": "Not found."}
    assert _counts() == before
    assert not OfficialAccount.objects.filter(name="renamed").exists()


def test_no_route_takes_a_format_suffix():
    def patterns(resolver, prefix=""):  # noqa: ANN001, ANN202
        for entry in resolver.url_patterns:
            if hasattr(entry, "url_patterns"):
                yield from patterns(entry, prefix + str(entry.pattern))
            else:
                yield prefix + str(entry.pattern)

    assert not [p for p in patterns(get_resolver()) if "format" in p]


def test_the_routes_without_the_suffix_still_answer(api):
    client, ids = api["client"], api["ids"]
    assert client.get(f"/api/v1/accounts/{ids['account']}/").status_code == 200
    changed = client.patch(f"/api/v1/teams/{ids['team']}/", {"name": "Renamed team"},
                           content_type="application/json")
    assert changed.status_code == 200 and changed.json()["name"] == "Renamed team"
    assert client.delete(f"/api/v1/prepared-responses/{ids['prepared']}/").status_code == 204
    history = client.get(f"/api/v1/conversations/{ids['conversation']}/history/")
    assert history.status_code == 200 and history.json()["count"] == 1
