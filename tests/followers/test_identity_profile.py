"""Profile fields and the brand's custom attributes: validated on write, each change on the
timeline and announced; and the duplicate suggestions (never merged on their own)."""

import pytest

from accounts.errors import InvalidInput, RoleRequired
from accounts.scope import scope_for_membership
from followers.attributes import attribute_create, attribute_update
from followers.customers import customer_update
from followers.duplicates import duplicate_suggestions, suggestion_dismiss
from followers.models import Customer, CustomerActivity, CustomerMerge
from tests.factories import make_account, make_brand, make_follower, make_member

pytestmark = pytest.mark.django_db


@pytest.fixture
def brand_setup():  # noqa: ANN201
    brand = make_brand()
    admin = make_member(brand=brand, role="admin")
    scope = scope_for_membership(admin)
    attribute_create(scope=scope, key="tier", label="Tier", kind="choice",
                     choices=["gold", "silver"])
    attribute_create(scope=scope, key="orders", label="Orders", kind="number")
    attribute_create(scope=scope, key="birthday", label="Birthday", kind="date")
    attribute_create(scope=scope, key="city", label="City", kind="text")
    return brand, admin, scope


def test_attribute_values_are_validated_every_error_at_once(brand_setup):
    brand, admin, _scope = brand_setup
    customer = Customer.objects.create(brand=brand)
    with pytest.raises(InvalidInput) as caught:
        customer_update(customer=customer, by=admin, attributes={
            "tier": "bronze", "orders": "many", "birthday": "31/12/1990", "nope": "x"})
    assert set(caught.value.fields) == {"attributes.tier", "attributes.orders",
                                        "attributes.birthday", "attributes.nope"}
    customer.refresh_from_db()
    assert customer.attributes == {} and not CustomerActivity.objects.exists()


def test_a_valid_write_is_stored_recorded_and_announced(brand_setup, announced):
    brand, admin, _scope = brand_setup
    customer = Customer.objects.create(brand=brand, attributes={"city": "Beijing"})
    customer_update(customer=customer, by=admin,
                    profile={"name": " Wang Fang ", "email": "Wang@Example.COM"},
                    attributes={"tier": "gold", "orders": "3", "birthday": "1990-12-31",
                                "city": None})
    customer.refresh_from_db()
    assert customer.name == "Wang Fang" and customer.email == "wang@example.com"
    assert customer.attributes == {"tier": "gold", "orders": 3, "birthday": "1990-12-31"}
    activity = CustomerActivity.objects.get(customer=customer)
    assert activity.kind == "updated" and activity.by == admin
    fields = ["name", "email", "attributes.tier", "attributes.orders", "attributes.birthday",
              "attributes.city"]
    assert activity.data == {"fields": fields}
    assert announced == [("customer.updated", {
        "brand_id": brand.pk, "customer_id": customer.pk, "fields": sorted(fields),
        "by_membership_id": admin.pk})]
    # The same write again changes nothing and records nothing.
    customer_update(customer=customer, by=admin, profile={"name": "Wang Fang"})
    assert CustomerActivity.objects.count() == 1 and len(announced) == 1


def test_profile_field_errors(brand_setup):
    brand, admin, _scope = brand_setup
    customer = Customer.objects.create(brand=brand)
    with pytest.raises(InvalidInput) as caught:
        customer_update(customer=customer, by=admin,
                        profile={"email": "not an email", "phone": "call me"})
    assert set(caught.value.fields) == {"email", "phone"}


def test_attribute_definitions_are_checked_and_kept_to_admins(brand_setup):
    brand, _admin, scope = brand_setup
    with pytest.raises(InvalidInput):
        attribute_create(scope=scope, key="Bad Key", label="x")
    with pytest.raises(InvalidInput):
        attribute_create(scope=scope, key="size", label="Size", kind="choice", choices=[])
    with pytest.raises(InvalidInput, match="exists"):
        attribute_create(scope=scope, key="tier", label="Tier again")
    agent_scope = scope_for_membership(make_member(brand=brand, role="agent"))
    with pytest.raises(RoleRequired):
        attribute_create(scope=agent_scope, key="size", label="Size")
    tier = brand.customer_attributes.get(key="tier")
    with pytest.raises(InvalidInput, match="cannot change"):
        attribute_update(scope=scope, attribute=tier, kind="text")
    attribute_update(scope=scope, attribute=tier, choices=["gold", "silver", "bronze"])
    assert brand.customer_attributes.get(key="tier").choices == ["gold", "silver", "bronze"]


def test_duplicates_are_suggested_dismissed_and_never_merged(brand_setup):
    brand, admin, scope = brand_setup
    account = make_account(brand=brand, app_secret="")
    a = Customer.objects.create(brand=brand, phone="+86 138-0013-8000")
    b = Customer.objects.create(brand=brand, phone="13800138000")
    c = Customer.objects.create(brand=brand, email="Li@Example.com ")
    d = Customer.objects.create(brand=brand, email="li@example.com")
    e, f = Customer.objects.create(brand=brand), Customer.objects.create(brand=brand)
    make_follower(account=account, customer=e, remark="Ms Chen")
    make_follower(account=account, customer=f, remark="ms chen")
    lone = Customer.objects.create(brand=brand, phone="13900000000")
    Customer.objects.create(brand=make_brand(), phone="13800138000")  # another brand
    found = {(s.low, s.high, s.reason) for s in duplicate_suggestions(scope=scope)}
    assert found == {(a.pk, b.pk, "phone"), (c.pk, d.pk, "email"), (e.pk, f.pk, "remark")}
    assert lone.pk not in {pk for s in found for pk in s[:2]}
    suggestion_dismiss(scope=scope, a=d, b=c, by=admin)
    found = {(s.low, s.high) for s in duplicate_suggestions(scope=scope)}
    assert found == {(a.pk, b.pk), (e.pk, f.pk)}
    only_a = duplicate_suggestions(scope=scope, customer=a)
    assert [(s.low, s.high) for s in only_a] == [(a.pk, b.pk)]
    assert not CustomerMerge.objects.exists()
    assert not Customer.objects.filter(merged_into__isnull=False).exists()
