"""Members are edited and removed, on the brand pages and through the REST API, and only by
those whose role manages members (owners and admins; a manager or an agent is refused).

The effect is checked where it matters: the row, and what the member can then reach (the
accounts they serve, their teams, the brand itself).
"""

import pytest
from django.test import Client

from accounts.models import Membership, Role, User
from accounts.services import api_key_create
from tests.factories import make_member

pytestmark = pytest.mark.django_db


def _served_names(client: Client, member: Membership) -> set[str]:
    """The accounts the member's own session lists through the API: what they serve now."""
    client.force_login(member.user)
    response = client.get("/api/v1/accounts/")
    assert response.status_code == 200, response.content
    return {a["name"] for a in response.json()["results"]}


def _state(membership: Membership) -> tuple:
    membership = Membership.objects.get(pk=membership.pk)
    return (
        membership.role,
        sorted(membership.accounts.values_list("pk", flat=True)),
        sorted(membership.teams.values_list("pk", flat=True)),
        membership.languages,
        membership.capacity,
        membership.display_name,
    )


@pytest.fixture
def api_key(client: Client, two_brands: dict) -> Client:
    _key, raw = api_key_create(brand=two_brands["brand_a"], name="integration")
    client.defaults["HTTP_AUTHORIZATION"] = f"Bearer {raw}"
    return client


# --- the brand pages --------------------------------------------------------------------


def test_an_admin_edits_a_member_on_the_page_and_they_serve_the_new_accounts(
    client, two_brands
):
    w = two_brands
    agent = w["agent_a"]  # serves A property only
    assert _served_names(Client(), agent) == {"A property"}
    client.force_login(w["admin_a"].user)
    assert client.get(f"/members/{agent.pk}/edit/").status_code == 200

    response = client.post(f"/members/{agent.pk}/edit/", {
        "role": "agent", "accounts": [w["a1"].pk], "teams": [w["team_a"].pk],
        "languages": ["en", "zh-hans"], "capacity": 3, "display_name": "Lily",
    })

    assert response.status_code == 302 and response["Location"] == "/members/"
    assert _state(agent) == (
        "agent", [w["a1"].pk], [w["team_a"].pk], ["en", "zh-hans"], 3, "Lily")
    assert _served_names(Client(), agent) == {"A flagship"}
    assert "Member saved." in client.get("/members/").content.decode()


def test_an_admin_removes_a_member_on_the_page_and_they_lose_the_brand(client, two_brands):
    w = two_brands
    agent = w["agent_a"]
    client.force_login(w["admin_a"].user)

    response = client.post(f"/members/{agent.pk}/remove/")

    assert response.status_code == 302 and response["Location"] == "/members/"
    assert not Membership.objects.filter(pk=agent.pk).exists()
    assert User.objects.filter(pk=agent.user_id).exists()  # the person keeps their sign-in
    page = client.get("/members/").content.decode()
    assert "Member removed." in page and agent.user.email not in page
    gone = Client()
    gone.force_login(agent.user)
    assert gone.get("/").status_code == 403  # "not a member of any brand"
    assert gone.get("/api/v1/accounts/").status_code == 403


@pytest.mark.parametrize("role", ["manager_a", "agent_a"])
def test_a_manager_or_an_agent_cannot_edit_or_remove_members_on_the_page(
    client, two_brands, role
):
    w = two_brands
    actor = w[role]
    # A member the actor can see: a colleague on the manager's account, or (an agent sees
    # only themselves) the agent's own membership, which they try to promote.
    target = make_member(brand=w["brand_a"], accounts=[w["a1"]]) if role == "manager_a" \
        else actor
    before = _state(target)
    client.force_login(actor.user)

    assert client.get(f"/members/{target.pk}/edit/").status_code == 403
    edit = client.post(f"/members/{target.pk}/edit/", {
        "role": "admin", "accounts": [], "teams": [], "capacity": 9, "display_name": "Boss"})
    assert edit.status_code == 403
    assert client.post(f"/members/{target.pk}/remove/").status_code == 403

    assert _state(target) == before


# --- the REST API -----------------------------------------------------------------------


def test_patch_changes_a_member_and_reads_back_under_the_same_names(api_key, two_brands):
    w = two_brands
    agent = w["agent_a"]
    url = f"/api/v1/members/{agent.pk}/"
    change = {"accounts": [w["a1"].pk], "teams": [w["team_a"].pk], "languages": ["ja"],
              "capacity": 2, "display_name": "Kenji"}

    response = api_key.patch(url, change, content_type="application/json")

    assert response.status_code == 200, response.content
    body = response.json()
    assert {k: body[k] for k in change} == change and body["role"] == "agent"
    assert {k: v for k, v in api_key.get(url).json().items() if k in change} == change
    assert _state(agent) == ("agent", [w["a1"].pk], [w["team_a"].pk], ["ja"], 2, "Kenji")
    assert _served_names(Client(), agent) == {"A flagship"}


def test_put_replaces_a_member_with_what_get_documents(api_key, two_brands):
    w = two_brands
    agent = w["agent_a"]
    url = f"/api/v1/members/{agent.pk}/"
    read = api_key.get(url).json()
    # The names GET answers, minus the ones only ever read.
    writable = {k: read[k] for k in ("role", "accounts", "teams", "languages", "capacity",
                                     "display_name")}
    writable.update(role="manager", accounts=[w["a1"].pk, w["a2"].pk], capacity=7)

    response = api_key.put(url, writable, content_type="application/json")

    assert response.status_code == 200, response.content
    assert _state(agent) == (
        "manager", sorted([w["a1"].pk, w["a2"].pk]), [], [], 7, "")
    assert api_key.get(url).json()["role"] == "manager"


def test_delete_removes_a_member(api_key, two_brands):
    w = two_brands
    agent = w["agent_a"]
    url = f"/api/v1/members/{agent.pk}/"

    assert api_key.delete(url).status_code == 204

    assert not Membership.objects.filter(pk=agent.pk).exists()
    assert api_key.get(url).status_code == 404
    emails = {m["email"] for m in api_key.get("/api/v1/members/").json()["results"]}
    assert agent.user.email not in emails and w["admin_a"].user.email in emails


def test_an_admin_session_edits_and_removes_members_too(client, two_brands):
    w = two_brands
    client.force_login(w["admin_a"].user)
    manager = w["manager_a"]
    url = f"/api/v1/members/{manager.pk}/"

    response = client.patch(url, {"role": "agent"}, content_type="application/json")
    assert response.status_code == 200, response.content
    assert Membership.objects.get(pk=manager.pk).role == Role.AGENT
    assert client.delete(url).status_code == 204
    assert not Membership.objects.filter(pk=manager.pk).exists()


@pytest.mark.parametrize("role", ["manager_a", "agent_a"])
def test_a_manager_or_an_agent_cannot_edit_or_remove_members_through_the_api(
    client, two_brands, role
):
    w = two_brands
    actor = w[role]
    target = make_member(brand=w["brand_a"], accounts=[w["a1"]]) if role == "manager_a" \
        else actor
    before = _state(target)
    client.force_login(actor.user)
    url = f"/api/v1/members/{target.pk}/"
    assert client.get(url).status_code == 200  # in their sight, so 403 and not 404

    patch = client.patch(url, {"role": "admin", "capacity": 9},
                         content_type="application/json")
    put = client.put(url, {"role": "admin", "accounts": [], "teams": [], "languages": [],
                           "capacity": 9, "display_name": ""},
                     content_type="application/json")
    delete = client.delete(url)

    for response in (patch, put, delete):
        assert response.status_code == 403, response.content
        assert "role" in response.json()["detail"]
    assert _state(target) == before
