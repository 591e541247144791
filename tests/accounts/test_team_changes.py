"""Teams are edited and deleted, on the brand pages and through the REST API, by those whose
role manages teams: owners and admins for any team, a manager only for a team that stays
inside the accounts they manage; an agent is refused.

The effect is checked where it matters: the row, and who then sees the team (a team is in
a member's sight when it answers for one of the accounts they serve).
"""

import pytest
from django.test import Client

from accounts.models import Membership, Team
from accounts.services import api_key_create
from messaging.models import Conversation
from tests.factories import make_team

pytestmark = pytest.mark.django_db


def _team_names(member: Membership) -> set[str]:
    """The teams the member's own session lists through the API."""
    client = Client()
    client.force_login(member.user)
    response = client.get("/api/v1/teams/")
    assert response.status_code == 200, response.content
    return {t["name"] for t in response.json()["results"]}


def _state(team: Team) -> tuple:
    team = Team.objects.get(pk=team.pk)
    return (team.name, sorted(team.accounts.values_list("pk", flat=True)), team.languages,
            team.is_central)


@pytest.fixture
def api_key(client: Client, two_brands: dict) -> Client:
    _key, raw = api_key_create(brand=two_brands["brand_a"], name="integration")
    client.defaults["HTTP_AUTHORIZATION"] = f"Bearer {raw}"
    return client


# --- the brand pages --------------------------------------------------------------------


def test_an_admin_edits_a_team_on_the_page_and_its_new_accounts_see_it(client, two_brands):
    w = two_brands
    team = w["team_a"]  # answers for A flagship
    assert "A team" not in _team_names(w["agent_a"])  # who serves A property
    client.force_login(w["admin_a"].user)
    assert client.get(f"/teams/{team.pk}/edit/").status_code == 200

    response = client.post(f"/teams/{team.pk}/edit/", {
        "name": "Front desk", "accounts": [w["a1"].pk, w["a2"].pk],
        "languages": ["en", "zh-hans"], "is_central": "on",
    })

    assert response.status_code == 302 and response["Location"] == "/teams/"
    assert _state(team) == (
        "Front desk", sorted([w["a1"].pk, w["a2"].pk]), ["en", "zh-hans"], True)
    assert "Front desk" in _team_names(w["agent_a"])
    assert "Team saved." in client.get("/teams/").content.decode()


def test_an_admin_deletes_a_team_on_the_page_and_its_queue_stays(client, two_brands):
    w = two_brands
    team = w["team_a"]
    w["agent_a"].teams.add(team)
    conversation = w["conversation_a"]  # in this team's queue
    client.force_login(w["admin_a"].user)

    response = client.post(f"/teams/{team.pk}/delete/")

    assert response.status_code == 302 and response["Location"] == "/teams/"
    assert not Team.objects.filter(pk=team.pk).exists()
    assert not w["agent_a"].teams.exists()
    # Its conversations are kept, out of a queue that no longer exists.
    assert Conversation.objects.get(pk=conversation.pk).team_id is None
    page = client.get("/teams/").content.decode()
    assert "Team deleted." in page and "A team" not in page


def test_a_manager_edits_and_deletes_a_team_of_their_own_accounts_on_the_page(
    client, two_brands
):
    w = two_brands
    manager = w["manager_a"]  # manages A flagship
    team = w["team_a"]  # answers for A flagship only
    client.force_login(manager.user)

    response = client.post(f"/teams/{team.pk}/edit/", {
        "name": "Flagship desk", "accounts": [w["a1"].pk], "languages": ["en"]})
    assert response.status_code == 302
    assert _state(team) == ("Flagship desk", [w["a1"].pk], ["en"], False)

    assert client.post(f"/teams/{team.pk}/delete/").status_code == 302
    assert not Team.objects.filter(pk=team.pk).exists()


def test_an_agent_cannot_edit_or_delete_a_team_on_the_page(client, two_brands):
    w = two_brands
    team = make_team(brand=w["brand_a"], name="Property desk", accounts=[w["a2"]])
    before = _state(team)
    client.force_login(w["agent_a"].user)  # serves A property: the team is in sight

    assert client.get(f"/teams/{team.pk}/edit/").status_code == 403
    edit = client.post(f"/teams/{team.pk}/edit/", {"name": "Mine", "accounts": [w["a2"].pk]})
    assert edit.status_code == 403
    assert client.post(f"/teams/{team.pk}/delete/").status_code == 403

    assert _state(team) == before


@pytest.mark.parametrize("covers", ["every account", "another account too"])
def test_a_manager_cannot_delete_or_narrow_a_team_beyond_their_accounts_on_the_page(
    client, two_brands, covers
):
    w = two_brands
    accounts = [] if covers == "every account" else [w["a1"], w["a2"]]
    team = make_team(brand=w["brand_a"], name="Care", accounts=accounts)
    before = _state(team)
    client.force_login(w["manager_a"].user)  # manages A flagship only
    assert "Care" in client.get("/teams/").content.decode()  # in sight

    narrow = client.post(f"/teams/{team.pk}/edit/", {"name": "Care", "accounts": [w["a1"].pk]})
    delete = client.post(f"/teams/{team.pk}/delete/")

    assert narrow.status_code == 403 and delete.status_code == 403
    assert _state(team) == before


# --- the REST API -----------------------------------------------------------------------


def test_patch_changes_a_team_and_reads_back_under_the_same_names(api_key, two_brands):
    w = two_brands
    team = w["team_a"]
    url = f"/api/v1/teams/{team.pk}/"
    change = {"name": "Night shift", "accounts": [w["a2"].pk], "languages": ["zh-hant"],
              "is_central": True}

    response = api_key.patch(url, change, content_type="application/json")

    assert response.status_code == 200, response.content
    assert {k: response.json()[k] for k in change} == change
    assert {k: v for k, v in api_key.get(url).json().items() if k in change} == change
    assert _state(team) == ("Night shift", [w["a2"].pk], ["zh-hant"], True)
    assert "Night shift" in _team_names(w["agent_a"])  # who serves A property
    assert "Night shift" not in _team_names(w["manager_a"])  # who manages A flagship


def test_put_replaces_a_team_with_what_get_documents(api_key, two_brands):
    w = two_brands
    team = w["team_a"]
    url = f"/api/v1/teams/{team.pk}/"
    read = api_key.get(url).json()
    writable = {k: read[k] for k in ("name", "accounts", "languages", "is_central")}
    writable.update(name="Everyone", accounts=[])  # none means every account

    response = api_key.put(url, writable, content_type="application/json")

    assert response.status_code == 200, response.content
    assert _state(team) == ("Everyone", [], [], False)
    assert "Everyone" in _team_names(w["agent_a"])


def test_delete_removes_a_team(api_key, two_brands):
    w = two_brands
    team = w["team_a"]
    url = f"/api/v1/teams/{team.pk}/"

    assert api_key.delete(url).status_code == 204

    assert not Team.objects.filter(pk=team.pk).exists()
    assert api_key.get(url).status_code == 404
    assert api_key.get("/api/v1/teams/").json()["count"] == 0
    assert Team.objects.filter(pk=w["team_b"].pk).exists()


def test_a_manager_changes_a_team_of_their_own_accounts_through_the_api(client, two_brands):
    w = two_brands
    team = w["team_a"]
    client.force_login(w["manager_a"].user)
    url = f"/api/v1/teams/{team.pk}/"

    response = client.patch(url, {"languages": ["ko"]}, content_type="application/json")
    assert response.status_code == 200, response.content
    assert _state(team) == ("A team", [w["a1"].pk], ["ko"], False)
    assert client.delete(url).status_code == 204
    assert not Team.objects.filter(pk=team.pk).exists()


def test_an_agent_cannot_edit_or_delete_a_team_through_the_api(client, two_brands):
    w = two_brands
    team = make_team(brand=w["brand_a"], name="Property desk", accounts=[w["a2"]])
    before = _state(team)
    client.force_login(w["agent_a"].user)
    url = f"/api/v1/teams/{team.pk}/"
    assert client.get(url).status_code == 200  # in their sight, so 403 and not 404

    patch = client.patch(url, {"name": "Mine"}, content_type="application/json")
    put = client.put(url, {"name": "Mine", "accounts": [w["a2"].pk], "languages": [],
                           "is_central": False}, content_type="application/json")
    delete = client.delete(url)

    for response in (patch, put, delete):
        assert response.status_code == 403, response.content
    assert _state(team) == before


@pytest.mark.parametrize("covers", ["every account", "another account too"])
def test_a_manager_cannot_delete_or_narrow_a_team_beyond_their_accounts_through_the_api(
    client, two_brands, covers
):
    w = two_brands
    accounts = [] if covers == "every account" else [w["a1"], w["a2"]]
    team = make_team(brand=w["brand_a"], name="Care", accounts=accounts)
    before = _state(team)
    client.force_login(w["manager_a"].user)
    url = f"/api/v1/teams/{team.pk}/"
    assert client.get(url).status_code == 200

    narrow = client.patch(url, {"accounts": [w["a1"].pk]}, content_type="application/json")
    rename = client.patch(url, {"name": "Mine"}, content_type="application/json")
    delete = client.delete(url)

    for response in (narrow, rename, delete):
        assert response.status_code == 403, response.content
        assert "accounts you do not manage" in response.json()["detail"]
    assert _state(team) == before
