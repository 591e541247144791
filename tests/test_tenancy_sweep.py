"""The tenancy sweep: every object route, every role, across brands.

A member or API key of brand A asking for brand B's object gets 404, never 403 or 200;
an agent asking for an account of their own brand that they do not serve gets 404 too.
`test_every_object_route_is_in_the_sweep` fails when a new route with an id is added
without a row here.
"""

import re
from datetime import date

import pytest
from django.urls import URLPattern, URLResolver, get_resolver

from accounts.models import BrandClosure, BusinessHours
from accounts.services import api_key_create
from messaging.models import Mention, Message, PreparedResponse
from routing.models import ResponseBreach, RoutingRule, Transfer
from tests.followers import (
    sweep_campaigns,
    sweep_identity,
    sweep_segments,
    sweep_sync,
    sweep_tags,
)

pytestmark = pytest.mark.django_db

# The CRM's parts each list their own routes and make their own objects.
CRM_SWEEPS = (sweep_sync, sweep_identity, sweep_tags, sweep_campaigns, sweep_segments)

# (url, methods) with {placeholders} filled from the two_brands dataset.
HTML_ROUTES = [
    ("/official-accounts/{account}/", ["get"]),
    ("/official-accounts/{account}/edit/", ["get", "post"]),
    ("/official-accounts/{account}/connect/", ["get", "post"]),
    ("/official-accounts/{account}/disconnect/", ["get", "post"]),
    ("/members/{member}/edit/", ["get", "post"]),
    ("/members/{member}/remove/", ["get", "post"]),
    ("/teams/{team}/edit/", ["get", "post"]),
    ("/teams/{team}/delete/", ["get", "post"]),
    ("/api-keys/{api_key}/revoke/", ["get", "post"]),
    ("/console/conversations/{conversation}/profile/", ["get"]),
    ("/business-hours/accounts/{account}/", ["get", "post"]),
    ("/business-hours/teams/{team}/", ["get", "post"]),
    ("/business-hours/{hours}/remove/", ["post"]),
    ("/business-hours/closures/{closure}/remove/", ["post"]),
    ("/routing/rules/{rule}/edit/", ["get", "post"]),
    ("/routing/rules/{rule}/delete/", ["get", "post"]),
    ("/routing/rules/{rule}/move/", ["post"]),
    *[row for sweep in CRM_SWEEPS for row in sweep.HTML_ROUTES],
]
API_ROUTES = [
    ("/api/v1/accounts/{account}/", ["get", "patch", "put"]),
    ("/api/v1/members/{member}/", ["get", "patch", "put", "delete"]),
    ("/api/v1/teams/{team}/", ["get", "patch", "put", "delete"]),
    ("/api/v1/conversations/{conversation}/", ["get"]),
    ("/api/v1/conversations/{conversation}/assign/", ["post"]),
    ("/api/v1/conversations/{conversation}/resolve/", ["post"]),
    ("/api/v1/conversations/{conversation}/snooze/", ["post"]),
    ("/api/v1/conversations/{conversation}/messages/", ["get", "post"]),
    ("/api/v1/conversations/{conversation}/history/", ["get"]),
    ("/api/v1/conversations/{conversation}/transfer/", ["post"]),
    ("/api/v1/conversations/{conversation}/media/{message}/", ["get"]),
    ("/api/v1/conversations/{conversation}/messages/{message}/retry/", ["post"]),
    ("/api/v1/prepared-responses/{prepared}/", ["get", "patch", "put", "delete"]),
    ("/api/v1/routing/rules/{rule}/", ["get", "patch", "put", "delete"]),
    ("/api/v1/routing/rules/{rule}/move/", ["post"]),
    ("/api/v1/routing/targets/{team}/", ["get", "patch", "put"]),
    ("/api/v1/business-hours/{hours}/", ["get", "patch", "put", "delete"]),
    ("/api/v1/business-hours/closures/{closure}/", ["get", "delete"]),
    ("/api/v1/conversations/{conversation}/transfer-paths/", ["get"]),
    ("/api/v1/conversations/{conversation}/transfers/", ["get"]),
    ("/api/v1/conversations/{conversation}/hand-to-speaker/", ["post"]),
    ("/api/v1/conversations/{conversation}/timeline/", ["get"]),
    ("/api/v1/transfers/{transfer}/", ["get"]),
    ("/api/v1/transfers/{transfer}/accept/", ["post"]),
    ("/api/v1/transfers/{transfer}/decline/", ["post"]),
    ("/api/v1/breaches/{breach}/", ["get"]),
    ("/api/v1/mentions/{mention}/end/", ["post"]),
    *[row for sweep in CRM_SWEEPS for row in sweep.API_ROUTES],
]
# Routes whose id is not a tenant object (or that have no id), with the reason.
NOT_OBJECT_ROUTES = {
    "invite/<str:token>/": "a secret token, answers 404 for any unknown token",
    "<str:appid>/callback/": "called by WeChat; unknown appids answer 404 (test_callback_verify)",
}


def _ids(data: dict, brand: str) -> dict:
    other = {"a": "a1", "b": "b1"}[brand]
    key, _raw = api_key_create(brand=data[f"brand_{brand}"], name="sweep")
    member = data["agent_a"] if brand == "a" else data["admin_b"]
    prepared = PreparedResponse.objects.create(
        brand=data[f"brand_{brand}"], account=data[other], key="sweep", title="Sweep",
        language="en", body="hello",
    )
    conversation = data[f"conversation_{brand}"]
    message = Message.objects.create(
        brand=data[f"brand_{brand}"], conversation=conversation,
        account=conversation.channel_account, direction="in", content="sweep",
    )
    hours = BusinessHours.objects.create(brand=data[f"brand_{brand}"], account=data[other],
                                         week=[[(540, 1080)]] * 7)
    closure = BrandClosure.objects.create(brand=data[f"brand_{brand}"], name="sweep refit",
                                          starts_on=date(2026, 1, 1), ends_on=date(2026, 1, 2))
    team = data[f"team_{brand}"]
    rule = RoutingRule.objects.create(brand=data[f"brand_{brand}"], name="sweep rule",
                                      action="team", team=team)
    transfer = Transfer.objects.create(brand=data[f"brand_{brand}"], conversation=conversation,
                                       kind="team", to_team=team, note="sweep")
    breach = ResponseBreach.objects.create(
        brand=data[f"brand_{brand}"], conversation=conversation, team=team, kind="first",
        target_minutes=5, waiting_since=conversation.opened_at, due_at=conversation.opened_at,
    )
    note = Message.objects.create(
        brand=data[f"brand_{brand}"], conversation=conversation,
        account=conversation.channel_account, direction="note", content="@sweep",
    )
    mention = Mention.objects.create(brand=data[f"brand_{brand}"], conversation=conversation,
                                     note=note, member=member)
    crm = {key: pk for sweep in CRM_SWEEPS for key, pk in sweep.ids(data, brand).items()}
    return {
        **crm,
        "rule": rule.pk,
        "transfer": transfer.pk,
        "breach": breach.pk,
        "mention": mention.pk,
        "hours": hours.pk,
        "closure": closure.pk,
        "account": data[other].pk,
        "member": member.pk,
        "team": data[f"team_{brand}"].pk,
        "api_key": key.pk,
        "conversation": data[f"conversation_{brand}"].pk,
        "prepared": prepared.pk,
        "message": message.pk,
    }


@pytest.mark.parametrize("route,methods", HTML_ROUTES)
@pytest.mark.parametrize("role", ["admin_a", "manager_a", "agent_a"])
def test_members_of_brand_a_get_404_for_brand_b_pages(client, two_brands, route, methods, role):
    foreign = _ids(two_brands, "b")
    client.force_login(two_brands[role].user)
    for method in methods:
        response = getattr(client, method)(route.format(**foreign))
        assert response.status_code == 404, (method, route, role, response.status_code)


@pytest.mark.parametrize("route,methods", API_ROUTES)
def test_api_keys_of_brand_a_get_404_for_brand_b_objects(client, two_brands, route, methods):
    foreign = _ids(two_brands, "b")
    _key, raw = api_key_create(brand=two_brands["brand_a"], name="integration")
    for method in methods:
        response = getattr(client, method)(
            route.format(**foreign),
            data={},
            content_type="application/json",
            HTTP_AUTHORIZATION=f"Bearer {raw}",
        )
        assert response.status_code == 404, (method, route, response.status_code)


@pytest.mark.parametrize("route,methods", API_ROUTES)
@pytest.mark.parametrize("role", ["admin_a", "manager_a"])
def test_session_users_of_brand_a_get_404_for_brand_b_objects(
    client, two_brands, route, methods, role
):
    foreign = _ids(two_brands, "b")
    client.force_login(two_brands[role].user)
    for method in methods:
        response = getattr(client, method)(
            route.format(**foreign), data={}, content_type="application/json"
        )
        assert response.status_code == 404, (method, route, role, response.status_code)


def test_lists_never_show_brand_b(client, two_brands):
    _key, raw = api_key_create(brand=two_brands["brand_a"], name="integration")
    auth = {"HTTP_AUTHORIZATION": f"Bearer {raw}"}
    for path, foreign_name in [
        ("/api/v1/accounts/", "B flagship"),
        ("/api/v1/teams/", "B team"),
        ("/api/v1/conversations/transfer-targets/", "B flagship"),
        ("/api/v1/conversations/transfer-targets/", "B team"),
        ("/api/v1/members/", two_brands["admin_b"].user.email),
    ]:
        body = client.get(path, **auth).content.decode()
        assert foreign_name not in body, path
    client.force_login(two_brands["admin_a"].user)
    _ids(two_brands, "b")
    for path in ["/", "/members/", "/teams/", "/api-keys/", "/business-hours/"]:
        body = client.get(path).content.decode()
        assert "B flagship" not in body and "B team" not in body, path
        assert "sweep refit" not in body, path
    # The transfer targets an agent may list: the whole brand's, never another brand's.
    client.force_login(two_brands["agent_a"].user)
    targets = client.get("/api/v1/conversations/transfer-targets/").json()
    assert {a["name"] for a in targets["accounts"]} == {"A flagship", "A property"}
    assert {t["name"] for t in targets["teams"]} == {"A team"}


def test_an_agent_does_not_see_accounts_outside_their_scope(client, two_brands):
    agent = two_brands["agent_a"]  # serves a2 only
    client.force_login(agent.user)
    home = client.get("/").content.decode()
    assert "A property" in home and "A flagship" not in home
    assert client.get(f"/official-accounts/{two_brands['a1'].pk}/").status_code == 404
    assert client.get(f"/api/v1/accounts/{two_brands['a1'].pk}/").status_code == 404
    names = [a["name"] for a in client.get("/api/v1/accounts/").json()["results"]]
    assert names == ["A property"]


def test_a_manager_sees_only_teams_of_their_accounts(client, two_brands):
    from tests.factories import make_team

    hidden = make_team(brand=two_brands["brand_a"], name="A property team",
                       accounts=[two_brands["a2"]])
    client.force_login(two_brands["manager_a"].user)
    names = [t["name"] for t in client.get("/api/v1/teams/").json()["results"]]
    assert "A team" in names and hidden.name not in names


def test_a_brand_switch_to_a_foreign_brand_is_404(client, two_brands):
    client.force_login(two_brands["admin_a"].user)
    response = client.post("/brand/switch/", {"brand_id": two_brands["brand_b"].pk})
    assert response.status_code == 404


def test_the_admin_shows_staff_only_their_brand(client, two_brands):
    user = two_brands["admin_a"].user
    user.is_staff = True
    user.save()
    from django.contrib.auth.models import Permission

    user.user_permissions.set(Permission.objects.filter(codename__startswith="view_"))
    client.force_login(user)
    body = client.get("/admin/accounts/officialaccount/").content.decode()
    assert "A flagship" in body and "B flagship" not in body
    foreign = two_brands["b1"].pk
    assert client.get(f"/admin/accounts/officialaccount/{foreign}/change/").status_code in (
        302,
        404,
    )


def _patterns(resolver: URLResolver, prefix: str = "") -> list[str]:
    found = []
    for entry in resolver.url_patterns:
        if isinstance(entry, URLResolver):
            found += _patterns(entry, prefix + str(entry.pattern))
        elif isinstance(entry, URLPattern):
            found.append(prefix + str(entry.pattern))
    return found


def _canonical(pattern: str) -> str:
    pattern = pattern.replace("^", "").replace("$", "")
    # Every id in the path (the object's pk, a nested object's id) is a placeholder.
    pattern = re.sub(r"\(\?P<\w+>[^)]*\)|<int:\w+>", "{}", pattern)
    return "/" + pattern


def test_every_object_route_is_in_the_sweep():
    covered = {re.sub(r"\{[a-z_]+\}", "{}", route) for route, _m in HTML_ROUTES + API_ROUTES}
    object_routes = {
        _canonical(p)
        for p in _patterns(get_resolver())
        if not p.startswith(("admin/", "auth/"))
        and "format>" not in p
        and not any(p.endswith(k) for k in NOT_OBJECT_ROUTES)
    }
    object_routes = {r for r in object_routes if "{}" in r or "<" in r}
    missing = object_routes - covered
    assert not missing, f"add these routes to the tenancy sweep: {sorted(missing)}"
    assert len(object_routes) == len(covered)


def test_the_admin_shows_staff_only_their_brands_conversations(client, two_brands):
    from django.contrib.auth.models import Permission

    user = two_brands["admin_a"].user
    user.is_staff = True
    user.save()
    user.user_permissions.set(Permission.objects.filter(codename__startswith="view_"))
    client.force_login(user)
    ours, theirs = two_brands["conversation_a"], two_brands["conversation_b"]
    assert client.get(f"/admin/messaging/conversation/{ours.pk}/change/").status_code == 200
    assert client.get(f"/admin/messaging/conversation/{theirs.pk}/change/").status_code in (
        302, 404,
    )
    body = client.get("/admin/followers/follower/").content.decode()
    assert ours.follower.openid in body and theirs.follower.openid not in body


@pytest.mark.parametrize("brand_id", ["³", "٣", "-1", "1e3", ""])
def test_a_brand_switch_to_a_brand_id_that_is_no_number_is_404_not_500(
    client, two_brands, brand_id
):
    client.force_login(two_brands["admin_a"].user)
    assert client.post("/brand/switch/", {"brand_id": brand_id}).status_code == 404
