"""What a brand's staff member may do in the Django admin beyond seeing their brand: never
hand out admin powers, never touch another brand's people or a role above their own, and
never move a row out of their reach. Superusers keep every power."""

import pytest
from django.contrib import admin
from django.contrib.auth.models import Group, Permission
from django.contrib.contenttypes.models import ContentType

from accounts.models import Invitation, Membership, Role, User
from accounts.services import invitation_create
from tests.accounts.admin_support import form_data, staff_login
from tests.factories import PASSWORD, make_member, make_team, owner_scope

pytestmark = pytest.mark.django_db


def _staff(client, member: Membership, *, permissions: str = "all") -> User:
    return staff_login(client, member, permissions=permissions)


def _user_form(user: User, **changes: object) -> dict:
    data = {"email": user.email, "name": user.name, "is_active": "on",
            "last_login_0": "", "last_login_1": "", "date_joined_0": "2024-01-01",
            "date_joined_1": "00:00:00"}
    data.update(changes)
    return data


def _membership_form(member: Membership, **changes: object) -> dict:
    data = {"user": member.user_id, "role": member.role, "languages": "[]",
            "capacity": member.capacity, "presence": member.presence, "display_name": "",
            "accounts": [a.pk for a in member.accounts.all()],
            "teams": [t.pk for t in member.teams.all()]}
    data.update(changes)
    return data


def _owner(brand) -> Membership:
    return Membership.objects.get(brand=brand, role=Role.OWNER)


# --- a user's admin powers --------------------------------------------------------------


def test_staff_cannot_make_themselves_superuser_or_give_themselves_permissions(client,
                                                                                two_brands):
    user = _staff(client, two_brands["admin_a"])
    granted = set(user.user_permissions.values_list("pk", flat=True))
    group = Group.objects.create(name="everything")
    url = f"/admin/accounts/user/{user.pk}/change/"
    form = client.get(url).context["adminform"].form
    assert not {"is_superuser", "is_staff", "groups", "user_permissions"} & set(form.fields)

    response = client.post(url, _user_form(
        user, name="Me", is_superuser="on", groups=[group.pk],
        user_permissions=[Permission.objects.get(codename="change_permission").pk],
    ))
    assert response.status_code == 302
    user.refresh_from_db()
    assert user.name == "Me"  # the rest of the form saved
    assert not user.is_superuser and not user.groups.exists()
    assert set(user.user_permissions.values_list("pk", flat=True)) == granted


def test_staff_cannot_make_a_colleague_staff(client, two_brands):
    _staff(client, two_brands["admin_a"])
    agent = two_brands["agent_a"].user
    response = client.post(f"/admin/accounts/user/{agent.pk}/change/",
                           _user_form(agent, name="Agent", is_staff="on", is_superuser="on"))
    assert response.status_code == 302
    agent.refresh_from_db()
    assert agent.name == "Agent" and not agent.is_staff and not agent.is_superuser


# --- other people ------------------------------------------------------------------------


def test_staff_neither_see_nor_reset_another_brands_user(client, two_brands):
    _staff(client, two_brands["admin_a"])
    foreign = two_brands["admin_b"].user
    listing = client.get("/admin/accounts/user/").content.decode()
    assert two_brands["agent_a"].user.email in listing and foreign.email not in listing
    assert client.get(f"/admin/accounts/user/{foreign.pk}/change/").status_code == 302
    url = f"/admin/accounts/user/{foreign.pk}/password/"
    assert client.get(url).status_code == 404
    response = client.post(url, {"password1": "taken-over-1", "password2": "taken-over-1",
                                 "usable_password": "true"})
    assert response.status_code == 404
    foreign.refresh_from_db()
    assert foreign.check_password(PASSWORD)


@pytest.mark.parametrize("whom", ["owner", "staff colleague", "also in brand B"])
def test_staff_cannot_reset_the_password_of_someone_out_of_their_reach(client, two_brands,
                                                                       whom):
    _staff(client, two_brands["admin_a"])
    if whom == "owner":
        target = _owner(two_brands["brand_a"]).user
    elif whom == "staff colleague":
        target = two_brands["manager_a"].user
        target.is_staff = True
        target.save()
    else:
        target = two_brands["agent_a"].user
        make_member(brand=two_brands["brand_b"], user=target)
    url = f"/admin/accounts/user/{target.pk}/password/"
    assert client.get(f"/admin/accounts/user/{target.pk}/change/").status_code == 200  # seen
    assert client.get(url).status_code == 403
    response = client.post(url, {"password1": "taken-over-1", "password2": "taken-over-1",
                                 "usable_password": "true"})
    assert response.status_code == 403
    target.refresh_from_db()
    assert target.check_password(PASSWORD)


def test_staff_reset_the_password_of_a_plain_member_of_their_brand(client, two_brands):
    _staff(client, two_brands["admin_a"])
    agent = two_brands["agent_a"].user
    response = client.post(f"/admin/accounts/user/{agent.pk}/password/", {
        "password1": "a-new-secret-9", "password2": "a-new-secret-9", "usable_password": "true",
    })
    assert response.status_code == 302
    agent.refresh_from_db()
    assert agent.check_password("a-new-secret-9")


def test_staff_never_delete_a_person(client, two_brands):
    _staff(client, two_brands["admin_a"])
    agent = two_brands["agent_a"].user
    assert client.post(f"/admin/accounts/user/{agent.pk}/delete/",
                       {"post": "yes"}).status_code == 403
    assert User.objects.filter(pk=agent.pk).exists()


# --- roles -------------------------------------------------------------------------------


def test_an_admin_cannot_make_an_owner(client, two_brands):
    _staff(client, two_brands["admin_a"])
    agent = two_brands["agent_a"]
    url = f"/admin/accounts/membership/{agent.pk}/change/"
    roles = [value for value, _l in client.get(url).context["adminform"].form.fields[
        "role"].choices]
    assert roles == [Role.ADMIN, Role.MANAGER, Role.AGENT]
    response = client.post(url, _membership_form(agent, role=Role.OWNER))
    assert response.status_code == 200
    assert "role" in response.context["adminform"].form.errors
    agent.refresh_from_db()
    assert agent.role == Role.AGENT
    # An admin is as far as an admin goes.
    assert client.post(url, _membership_form(agent, role=Role.ADMIN)).status_code == 302
    agent.refresh_from_db()
    assert agent.role == Role.ADMIN


def test_an_admin_cannot_invite_an_owner(client, two_brands):
    _staff(client, two_brands["admin_a"])
    brand = two_brands["brand_a"]
    invitation, _raw = invitation_create(scope=owner_scope(brand), email="new@example.com",
                                         role=Role.AGENT, account_ids=[],
                                         by=_owner(brand).user)
    response = client.post(f"/admin/accounts/invitation/{invitation.pk}/change/", {
        "email": invitation.email, "role": Role.OWNER,
        "expires_at_0": "2030-01-01", "expires_at_1": "00:00:00",
    })
    assert response.status_code == 200
    assert "role" in response.context["adminform"].form.errors
    assert Invitation.objects.get(pk=invitation.pk).role == Role.AGENT


def test_an_admin_cannot_change_or_remove_an_owner(client, two_brands):
    _staff(client, two_brands["admin_a"])
    owner = _owner(two_brands["brand_a"])
    url = f"/admin/accounts/membership/{owner.pk}/change/"
    assert "role" not in client.get(url).context["adminform"].form.fields  # a view
    assert client.post(url, _membership_form(owner, role=Role.AGENT)).status_code == 403
    delete = client.post(f"/admin/accounts/membership/{owner.pk}/delete/", {"post": "yes"})
    assert delete.status_code == 403
    owner.refresh_from_db()
    assert owner.role == Role.OWNER


def test_a_manager_cannot_change_memberships_even_with_the_permission(client, two_brands):
    # Managing members is the owner's and the admins' (accounts/scope.py), in the admin too.
    _staff(client, two_brands["manager_a"])
    manager = two_brands["manager_a"]
    url = f"/admin/accounts/membership/{manager.pk}/change/"
    assert client.get(url).status_code == 200
    assert client.post(url, _membership_form(manager, accounts=[])).status_code == 403
    assert list(manager.accounts.all()) == [two_brands["a1"]]


# --- the brand and its accounts ----------------------------------------------------------


def test_the_brand_is_read_only_for_staff(client, two_brands):
    _staff(client, two_brands["admin_a"])
    agent = two_brands["agent_a"]
    url = f"/admin/accounts/membership/{agent.pk}/change/"
    page = client.get(url)
    assert "brand" not in page.context["adminform"].form.fields
    assert "Brand A" in page.content.decode()  # shown, as text
    response = client.post(url, _membership_form(agent, brand=two_brands["brand_b"].pk,
                                                 display_name="Lily"))
    assert response.status_code == 302
    agent.refresh_from_db()
    assert agent.brand_id == two_brands["brand_a"].pk and agent.display_name == "Lily"


def test_a_manager_cannot_make_a_team_cover_every_account(client, two_brands):
    _staff(client, two_brands["manager_a"])
    team = two_brands["team_a"]
    url = f"/admin/accounts/team/{team.pk}/change/"
    response = client.post(url, {"name": team.name, "languages": "[]", "accounts": []})
    assert response.status_code == 200
    assert "none would mean every account" in str(response.context["adminform"].form.errors)
    assert list(team.accounts.all()) == [two_brands["a1"]]


def test_a_manager_leaves_a_team_that_covers_every_account_alone(client, two_brands):
    _staff(client, two_brands["manager_a"])
    everywhere = make_team(brand=two_brands["brand_a"], name="Everywhere")
    url = f"/admin/accounts/team/{everywhere.pk}/change/"
    assert client.get(url).status_code == 200  # the manager sees it
    response = client.post(url, {"name": "Mine now", "languages": "[]",
                                 "accounts": [two_brands["a1"].pk]})
    assert response.status_code == 403
    everywhere.refresh_from_db()
    assert everywhere.name == "Everywhere" and not everywhere.accounts.exists()


def test_a_manager_keeps_a_teams_account_they_do_not_serve(client, two_brands):
    _staff(client, two_brands["manager_a"])  # serves a1
    a1, a2 = two_brands["a1"], two_brands["a2"]
    team = make_team(brand=two_brands["brand_a"], name="Both", accounts=[a1, a2])
    url = f"/admin/accounts/team/{team.pk}/change/"
    response = client.post(url, {"name": "Both floors", "languages": "[]",
                                 "accounts": [a1.pk, a2.pk]})
    assert response.status_code == 302
    team.refresh_from_db()
    assert team.name == "Both floors" and set(team.accounts.all()) == {a1, a2}


def test_a_save_that_moves_a_row_out_of_reach_is_undone(client, two_brands):
    # The team stops covering the manager's account, so they could no longer see it.
    _staff(client, two_brands["manager_a"])
    a1, a2 = two_brands["a1"], two_brands["a2"]
    team = make_team(brand=two_brands["brand_a"], name="Both", accounts=[a1, a2])
    response = client.post(f"/admin/accounts/team/{team.pk}/change/",
                           {"name": "Gone", "languages": "[]", "accounts": [a2.pk]})
    assert response.status_code == 403
    team.refresh_from_db()
    assert team.name == "Both" and set(team.accounts.all()) == {a1, a2}


def test_a_foreign_raw_id_is_refused_and_not_named_back(client, two_brands):
    _staff(client, two_brands["admin_a"])
    ours, theirs = two_brands["conversation_a"], two_brands["conversation_b"]
    url = f"/admin/messaging/conversation/{ours.pk}/change/"
    data = form_data(client.get(url))
    data["follower"] = [str(theirs.follower_id)]
    response = client.post(url, data)
    assert response.status_code == 200
    assert "follower" in response.context["adminform"].form.errors
    assert theirs.follower.openid not in response.content.decode()
    ours.refresh_from_db()
    assert ours.follower_id != theirs.follower_id


def test_staff_with_no_brand_see_nothing(client, two_brands):
    outsider = User.objects.create_user("outsider@example.com", PASSWORD, is_staff=True)
    types = [ContentType.objects.get_for_model(m) for m in admin.site._registry]
    outsider.user_permissions.set(Permission.objects.filter(content_type__in=types))
    client.force_login(outsider)
    page = client.get("/admin/accounts/officialaccount/")
    assert page.status_code == 200 and page.context["cl"].result_count == 0
    account = two_brands["a1"]
    assert client.get(f"/admin/accounts/officialaccount/{account.pk}/change/").status_code == 302


# --- superusers ---------------------------------------------------------------------------


def test_superusers_keep_every_power(client, two_brands):
    root = User.objects.create_superuser("root@example.com", PASSWORD)
    client.force_login(root)
    agent = two_brands["agent_a"]
    url = f"/admin/accounts/membership/{agent.pk}/change/"
    form = client.get(url).context["adminform"].form
    assert "brand" in form.fields
    assert two_brands["b1"] in form.fields["accounts"].queryset
    assert Role.OWNER in [value for value, _l in form.fields["role"].choices]
    listing = client.get("/admin/accounts/user/").content.decode()
    assert two_brands["admin_b"].user.email in listing
    user_form = client.get(f"/admin/accounts/user/{agent.user_id}/change/").context[
        "adminform"].form
    assert {"is_superuser", "is_staff", "groups"} <= set(user_form.fields)
