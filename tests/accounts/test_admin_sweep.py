"""The admin sweep: every registered ModelAdmin, as staff of brand A, against brand B.

Two operators of brand A are swept: a manager who may only view (every `view_*`
permission) and an admin who holds every model permission there is. For each admin they
open the change list and its filters, the add form, the change form of a brand A row and
its choices, and brand B's row by every door (change, history, delete, view on site); the
admin then posts a brand B id into every relation field. Nothing of brand B may show, and
nothing posted may stick. `test_every_model_admin_is_in_the_sweep` fails when a ModelAdmin
is registered without a row in `ROWS`.
"""

import itertools
from dataclasses import dataclass

import pytest
from allauth.account.models import EmailAddress
from allauth.mfa.models import Authenticator
from django import forms
from django.apps import apps
from django.contrib import admin
from django.contrib.auth.models import Group, Permission
from django.contrib.contenttypes.models import ContentType
from django.db import models
from django.urls import reverse
from django.utils import timezone

from accounts.admin_base import ScopedAdmin, SuperuserOnlyAdmin
from accounts.models import Brand, Membership, PendingAuthorization, PlatformApp, Role, User
from accounts.services import api_key_create, invitation_create
from followers.models import Campaign, FollowEvent, QRCode, Tag
from messaging.models import AutoReply, Inbound, Message, PreparedResponse
from tests.accounts.admin_support import form_data, staff_login
from tests.factories import make_member, make_user, owner_scope

pytestmark = pytest.mark.django_db

ALL_ROLES = frozenset(Role.values)
# Lowest first (the order: owner > admin > manager > agent).
ROLE_ORDER = [Role.AGENT, Role.MANAGER, Role.ADMIN, Role.OWNER]
BRAND_WIDE = frozenset({Role.OWNER, Role.ADMIN})


@dataclass(frozen=True)
class Row:
    # False: the admin is the platform's and refuses staff whatever their permissions.
    staff: bool = True
    # The roles whose staff may change these rows (the product capability the admin asks).
    change_roles: frozenset[str] = ALL_ROLES


SUPERUSERS_ONLY = Row(staff=False)
ROWS: dict[str, Row] = {
    "auth.group": SUPERUSERS_ONLY,  # groups carry permissions
    "account.emailaddress": SUPERUSERS_ONLY,  # a person's sign-in, in every brand
    "mfa.authenticator": SUPERUSERS_ONLY,
    "accounts.platformapp": SUPERUSERS_ONLY,  # the portal's platform registration
    "accounts.pendingauthorization": SUPERUSERS_ONLY,
    "accounts.user": Row(change_roles=BRAND_WIDE),  # another member: members.manage
    "accounts.brand": Row(change_roles=frozenset({Role.OWNER})),
    "accounts.officialaccount": Row(change_roles=BRAND_WIDE),
    "accounts.membership": Row(change_roles=BRAND_WIDE),
    "accounts.team": Row(change_roles=frozenset({Role.OWNER, Role.ADMIN, Role.MANAGER})),
    "accounts.invitation": Row(change_roles=BRAND_WIDE),
    "accounts.apikey": Row(change_roles=BRAND_WIDE),
    "followers.customer": Row(),
    "followers.tag": Row(),
    "followers.follower": Row(),
    "followers.followevent": Row(),
    "messaging.conversation": Row(),
    "messaging.message": Row(),
    "messaging.inbound": Row(),
    "messaging.preparedresponse": Row(),
    "messaging.autoreply": Row(),
}
# (two_brands member, permissions): a manager serving a1 who may only look, and a
# brand-wide admin holding every permission of every registered model.
OPERATORS = {"viewer": ("manager_a", "view"), "editor": ("admin_a", "all")}


def test_every_model_admin_is_in_the_sweep():
    registered = {model._meta.label_lower: model_admin
                  for model, model_admin in admin.site._registry.items()}
    missing = set(registered) - set(ROWS)
    assert not missing, f"add these admins to the admin sweep: {sorted(missing)}"
    assert not set(ROWS) - set(registered), "rows for admins that are gone"
    for label, row in ROWS.items():
        # Staff reach only admins built on the scoped base; the rest are the platform's.
        expected = ScopedAdmin if row.staff else SuperuserOnlyAdmin
        assert isinstance(registered[label], expected), label


# --- the dataset ------------------------------------------------------------------------


@pytest.fixture
def world(two_brands) -> dict:
    """One row of every staff model per brand, brand A's on a1 (which the manager serves).
    Brand B's text says "bravo", so a page showing any of it is caught."""
    now = timezone.now()
    data = dict(two_brands)
    markers = {"Brand B", "B flagship", "B team", "bravo"}
    for side, word in (("a", "alpha"), ("b", "bravo")):
        brand, account = data[f"brand_{side}"], data[f"{side}1"]
        conversation = data[f"conversation_{side}"]
        follower, customer = conversation.follower, conversation.customer
        customer.name = f"{word} customer"
        customer.save()
        tag = Tag.objects.create(brand=brand, name=f"{word} tag")
        follower.tags.add(tag)
        member = make_member(brand=brand, role=Role.AGENT, accounts=[account],
                             user=make_user(email=f"{word}-agent@example.com"))
        owner = Membership.objects.get(brand=brand, role=Role.OWNER).user
        invitation, _raw = invitation_create(
            scope=owner_scope(brand), email=f"{word}-invitee@example.com", role=Role.AGENT,
            account_ids=[account.pk], by=owner,
        )
        key, _raw = api_key_create(brand=brand, name=f"{word} key", by=owner)
        campaign = Campaign.objects.create(brand=brand, name=f"{word} campaign")
        # Related rows a follower's form can name (the QR code that brought it).
        qrcode = QRCode.objects.create(brand=brand, account=account, campaign=campaign,
                                       kind="permanent", scene=f"{word}-qr")
        rows = {
            "followers.campaign": campaign,
            "followers.qrcode": qrcode,
            "accounts.user": member.user,
            "accounts.brand": brand,
            "accounts.officialaccount": account,
            "accounts.membership": member,
            "accounts.team": data[f"team_{side}"],
            "accounts.invitation": invitation,
            "accounts.apikey": key,
            "followers.customer": customer,
            "followers.tag": tag,
            "followers.follower": follower,
            "followers.followevent": FollowEvent.objects.create(
                brand=brand, account=account, follower=follower, kind="follow", at=now,
                scene=f"{word}-scene",
            ),
            "messaging.conversation": conversation,
            "messaging.message": Message.objects.create(
                brand=brand, conversation=conversation, account=account, direction="in",
                content=f"{word} message",
            ),
            "messaging.inbound": Inbound.objects.create(
                brand=brand, account=account, dedupe_key=f"{word}-1", msg_type="text",
                openid=follower.openid, payload={"Content": word}, created_time=now,
            ),
            "messaging.preparedresponse": PreparedResponse.objects.create(
                brand=brand, account=account, key=f"{word}-key", title=f"{word} title",
                language="en", body=f"{word} body",
            ),
            "messaging.autoreply": AutoReply.objects.create(
                brand=brand, account=account, kind="keyword", trigger=word, body=f"{word} body",
            ),
        }
        # The platform's rows, which staff never reach.
        rows["auth.group"] = Group.objects.create(name=f"{word} operators")
        rows["account.emailaddress"] = EmailAddress.objects.create(
            user=member.user, email=member.user.email, verified=True
        )
        rows["mfa.authenticator"] = Authenticator.objects.create(
            user=member.user, type=Authenticator.Type.RECOVERY_CODES, data={"seed": word}
        )
        rows["accounts.platformapp"] = platform = PlatformApp.objects.create(
            component_appid=f"wx{word}platform", component_appsecret="s", token="t",
            encoding_aes_key="k" * 43,
        )
        rows["accounts.pendingauthorization"] = PendingAuthorization.objects.create(
            brand=brand, platform=platform, pre_auth_code=f"{word}-pre-auth-code",
        )
        data[side] = rows
        if side == "b":
            markers |= {follower.openid, owner.email, data["admin_b"].user.email}
    # No staff member may hand out a permission: it stands in as the foreign id there.
    data["b"]["auth.permission"] = Permission.objects.get(codename="change_user")
    data["markers"] = markers
    return data


def _login(client, world: dict, operator: str) -> Membership:
    name, permissions = OPERATORS[operator]
    staff_login(client, world[name], permissions=permissions)
    return world[name]


# --- helpers ----------------------------------------------------------------------------


def _url(model: type[models.Model], view: str, *args: object) -> str:
    return reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_{view}", args=args)


def _brands_of(obj: models.Model) -> set[int]:
    if isinstance(obj, Brand):
        return {obj.pk}
    if isinstance(obj, User):
        return set(obj.memberships.values_list("brand_id", flat=True))
    assert hasattr(obj, "brand_id"), f"the sweep has no brand rule for {type(obj).__name__}"
    return {obj.brand_id}


def _assert_in_brand(objects: object, brand: Brand, where: str) -> None:
    for obj in objects:
        assert brand.pk in _brands_of(obj), (where, obj)


def _assert_nothing_foreign(response, world: dict, where: str) -> None:
    body = response.content.decode()
    shown = {marker for marker in world["markers"] if marker in body}
    assert not shown, (where, shown)


def _relations(model: type[models.Model]) -> list[models.Field]:
    return [f for f in model._meta.get_fields()
            if (f.many_to_one or f.many_to_many) and not f.auto_created and f.concrete]


def _relation_values(obj: models.Model) -> dict:
    obj = type(obj)._default_manager.get(pk=obj.pk)
    return {
        f.name: set(getattr(obj, f.name).values_list("pk", flat=True)) if f.many_to_many
        else getattr(obj, f.attname)
        for f in _relations(type(obj))
    }


# --- reading ----------------------------------------------------------------------------


@pytest.mark.parametrize("operator", sorted(OPERATORS))
@pytest.mark.parametrize("label", sorted(ROWS))
def test_staff_see_only_their_brand_in_every_admin(client, world, label, operator):
    model = apps.get_model(label)
    member = _login(client, world, operator)
    brand = world["brand_a"]
    ours, theirs = world["a"][label], world["b"][label]
    if not ROWS[label].staff:
        for url in (_url(model, "changelist"), _url(model, "add")):
            assert client.get(url).status_code == 403, url
        for door in ("change", "history", "delete"):
            for obj in (ours, theirs):
                response = client.get(_url(model, door, obj.pk))
                nothing = client.get(_url(model, door, 999_999))
                assert response.status_code == nothing.status_code, door
                assert response.status_code in (302, 403), door
        return

    # The change list, with facet counts, and every filter's choices.
    page = client.get(_url(model, "changelist") + "?_facets=1")
    assert page.status_code == 200
    _assert_nothing_foreign(page, world, "change list")
    listed = {obj.pk for obj in page.context["cl"].result_list}
    assert ours.pk in listed and theirs.pk not in listed
    for spec in page.context["cl"].filter_specs:
        field = getattr(spec, "field", None)
        if field is not None and field.is_relation:
            offered = field.related_model._default_manager.filter(
                pk__in=[pk for pk, _label in spec.lookup_choices]
            )
            _assert_in_brand(offered, brand, f"filter {field.name}")
    searched = client.get(_url(model, "changelist"), {"q": "bravo"})
    assert theirs.pk not in {obj.pk for obj in searched.context["cl"].result_list}

    # Creating tenant rows goes through the portal, whatever the permissions say.
    assert client.get(_url(model, "add")).status_code == 403

    # Our row's change form: every choice is ours, roles stop at the operator's own.
    page = client.get(_url(model, "change", ours.pk))
    assert page.status_code == 200
    _assert_nothing_foreign(page, world, "change form")
    form = page.context["adminform"].form
    for name, field in form.fields.items():
        if isinstance(field, forms.ModelChoiceField):
            _assert_in_brand(field.queryset, brand, f"choices of {name}")
        elif name == "role":
            assert {value for value, _l in field.choices} == set(
                ROLE_ORDER[: ROLE_ORDER.index(member.role) + 1]
            )
    for field in model._meta.concrete_fields:
        if field.related_model is Brand:
            assert field.name not in form.fields  # the brand is read-only
    assert client.get(_url(model, "history", ours.pk)).status_code == 200

    # Brand B's row, by every door, answers exactly as a row that does not exist.
    doors = ["change", "history", "delete"] + (["password"] if model is User else [])
    for door in doors:
        if door == "password":
            url, missing = (reverse("admin:auth_user_password_change", args=[pk])
                            for pk in (theirs.pk, 999_999))
        else:
            url, missing = _url(model, door, theirs.pk), _url(model, door, 999_999)
        response, nothing = client.get(url), client.get(missing)
        assert response.status_code == nothing.status_code, door
        assert response.status_code in (302, 403, 404), door
        assert response.get("Location") == nothing.get("Location"), door
    content_type = ContentType.objects.get_for_model(model)
    on_site = client.get(reverse("admin:view_on_site", args=[content_type.pk, theirs.pk]))
    assert on_site.status_code == 404


@pytest.mark.parametrize("operator", sorted(OPERATORS))
def test_autocomplete_offers_staff_only_their_brand(client, world, operator):
    _login(client, world, operator)
    # The answer comes from the target's admin, so one field per target model will do.
    sources = {field.related_model: (model, field)
               for model in apps.get_models() for field in _relations(model)}
    answered = 0
    for (model, field), term in itertools.product(sources.values(), ("", "bravo")):
        response = client.get(reverse("admin:autocomplete"), {
            "app_label": model._meta.app_label, "model_name": model._meta.model_name,
            "field_name": field.name, "term": term,
        })
        if response.status_code != 200:
            assert response.status_code in (403, 404), (model, field.name)
            continue
        answered += 1
        ids = [result["id"] for result in response.json()["results"]]
        offered = field.related_model._default_manager.filter(pk__in=ids)
        assert offered.count() == len(ids)
        _assert_in_brand(offered, world["brand_a"], f"{model.__name__}.{field.name}")
    assert answered  # the sweep did reach the scoped admins


# --- writing ----------------------------------------------------------------------------


@pytest.mark.parametrize("operator", sorted(OPERATORS))
@pytest.mark.parametrize("label", sorted(ROWS))
def test_staff_cannot_write_brand_b_ids_through_the_admin(client, world, label, operator):
    model = apps.get_model(label)
    member = _login(client, world, operator)
    ours, theirs = world["a"][label], world["b"][label]
    if not ROWS[label].staff:
        assert client.post(_url(model, "add"), {}).status_code == 403
        assert client.post(_url(model, "change", ours.pk), {}).status_code == 403
        assert client.post(_url(model, "delete", ours.pk), {"post": "yes"}).status_code == 403
        assert model._default_manager.filter(pk=ours.pk).exists()
        return
    change = _url(model, "change", ours.pk)
    page = client.get(change)
    data = form_data(page)
    in_form = set(page.context["adminform"].form.fields)
    may_change = OPERATORS[operator][1] == "all" and member.role in ROWS[label].change_roles

    if not may_change:
        before = _relation_values(ours)
        assert not in_form & {f.name for f in _relations(model)}  # the change form is a view
        for field in _relations(model):
            posted = dict(data)
            posted[field.name] = [str(world["b"][field.related_model._meta.label_lower].pk)]
            assert client.post(change, posted).status_code == 403, field.name
        assert _relation_values(ours) == before
    else:
        # The form as the page shows it saves: the refusals below are the foreign ids'.
        saved = client.post(change, data)
        assert saved.status_code == 302, page.context["adminform"].form.errors
        before = _relation_values(ours)
        for field in _relations(model):
            foreign = world["b"][field.related_model._meta.label_lower]
            posted = dict(data)
            posted[field.name] = [str(foreign.pk)]
            response = client.post(change, posted)
            if field.name in in_form:
                assert response.status_code == 200, field.name
                assert field.name in response.context["adminform"].form.errors, field.name
            else:
                # Read-only for staff (the brand, a user's powers): ignored.
                assert response.status_code == 302, field.name
            _assert_nothing_foreign(response, world, f"posted {field.name}")
            assert _relation_values(ours) == before, field.name

    # Bulk deletion takes only the rows the change list shows.
    client.post(_url(model, "changelist"), {
        "action": "delete_selected", "_selected_action": [theirs.pk], "post": "yes",
    })
    assert model._default_manager.filter(pk=theirs.pk).exists()
