"""Unionid linking, and a person's merge and unmerge of two customers: nothing is lost.

Each test runs the after-commit callbacks (messaging moves the conversations there) and
reads the rows back."""

import pytest
from django.utils import timezone

from accounts.errors import InvalidInput
from followers.merge import customer_merge, customer_unmerge
from followers.models import (
    Customer,
    CustomerActivity,
    CustomerMerge,
    Follower,
    Tag,
)
from followers.services import follower_apply_profile, follower_upsert
from messaging.models import Conversation
from tests.factories import make_account, make_brand, make_conversation, make_follower, make_member

pytestmark = pytest.mark.django_db


def _activity(customer: Customer, kind: str, **data: object) -> CustomerActivity:
    return CustomerActivity.objects.create(brand_id=customer.brand_id, customer=customer,
                                           kind=kind, data=data, at=timezone.now())


@pytest.fixture
def pair():  # noqa: ANN201
    brand = make_brand()
    a1, a2 = make_account(brand=brand, app_secret=""), make_account(brand=brand, app_secret="")
    keep = Customer.objects.create(brand=brand, name="Li Wei", notes="Prefers email.",
                                   attributes={"tier": "gold"})
    other = Customer.objects.create(brand=brand, phone="13800138000", email="li@example.com",
                                    notes="Called about an order.",
                                    attributes={"tier": "silver", "city": "Shanghai"})
    f_keep = make_follower(account=a1, customer=keep)
    f_other = make_follower(account=a2, customer=other)
    vip = Tag.objects.create(brand=brand, name="VIP")
    f_other.tags.add(vip)
    c_keep = make_conversation(follower=f_keep)
    c_other = make_conversation(follower=f_other)
    act_keep = _activity(keep, "follow")
    act_other = _activity(other, "scan", campaign="Spring KOL")
    member = make_member(brand=brand, role="agent")
    return {"brand": brand, "keep": keep, "other": other, "f_keep": f_keep,
            "f_other": f_other, "vip": vip, "c_keep": c_keep, "c_other": c_other,
            "act_keep": act_keep, "act_other": act_other, "member": member}


def test_merge_moves_everything_and_unmerge_brings_it_back(
        pair, django_capture_on_commit_callbacks):
    keep, other, member = pair["keep"], pair["other"], pair["member"]
    with django_capture_on_commit_callbacks(execute=True):
        record = customer_merge(keep=keep, merge=other, by=member)

    keep.refresh_from_db()
    other.refresh_from_db()
    assert other.merged_into_id == keep.pk
    assert Follower.objects.get(pk=pair["f_other"].pk).customer_id == keep.pk
    # The tag is on the follower: it came along.
    assert list(Tag.objects.filter(followers__customer=keep).values_list("name", flat=True)) \
        == ["VIP"]
    assert Conversation.objects.get(pk=pair["c_other"].pk).customer_id == keep.pk
    assert CustomerActivity.objects.get(pk=pair["act_other"].pk).customer_id == keep.pk
    # Kept's values win; what it lacked is taken over; notes appended.
    assert keep.name == "Li Wei" and keep.phone == "13800138000"
    assert keep.email == "li@example.com"
    assert keep.attributes == {"tier": "gold", "city": "Shanghai"}
    assert keep.notes == "Prefers email.\n\nCalled about an order."
    record.refresh_from_db()
    assert record.by == member and record.brand == pair["brand"]
    assert record.moved["followers"] == [pair["f_other"].pk]
    assert record.moved["activities"] == [pair["act_other"].pk]
    assert record.moved["tags"] == [pair["vip"].pk]
    assert record.moved["conversations"] == [pair["c_other"].pk]
    assert record.moved["attributes"] == {"city": "Shanghai"}
    assert record.moved["attributes_not_taken"] == {"tier": "silver"}
    assert record.moved["profile"] == {"phone": "13800138000", "email": "li@example.com"}
    assert set(CustomerActivity.objects.filter(kind="merged").values_list(
        "customer_id", flat=True)) == {keep.pk, other.pk}

    with django_capture_on_commit_callbacks(execute=True):
        customer_unmerge(merge_record=record, by=member)

    keep.refresh_from_db()
    other.refresh_from_db()
    assert other.merged_into_id is None
    assert Follower.objects.get(pk=pair["f_other"].pk).customer_id == other.pk
    assert Follower.objects.get(pk=pair["f_keep"].pk).customer_id == keep.pk
    assert Conversation.objects.get(pk=pair["c_other"].pk).customer_id == other.pk
    assert Conversation.objects.get(pk=pair["c_keep"].pk).customer_id == keep.pk
    assert CustomerActivity.objects.get(pk=pair["act_other"].pk).customer_id == other.pk
    assert CustomerActivity.objects.get(pk=pair["act_keep"].pk).customer_id == keep.pk
    assert list(Follower.objects.get(pk=pair["f_other"].pk).tags.all()) == [pair["vip"]]
    assert (keep.name, keep.phone, keep.email, keep.notes, keep.attributes) == (
        "Li Wei", "", "", "Prefers email.", {"tier": "gold"})
    assert (other.phone, other.email, other.notes, other.attributes) == (
        "13800138000", "li@example.com", "Called about an order.",
        {"tier": "silver", "city": "Shanghai"})
    record.refresh_from_db()
    assert record.undone_at is not None and record.undone_by == member
    assert set(CustomerActivity.objects.filter(kind="unmerged").values_list(
        "customer_id", flat=True)) == {keep.pk, other.pk}


def test_a_field_changed_after_the_merge_stays_on_unmerge(pair):
    keep, other = pair["keep"], pair["other"]
    record = customer_merge(keep=keep, merge=other, by=None)
    Customer.objects.filter(pk=keep.pk).update(phone="13900000000")
    customer_unmerge(merge_record=record, by=None)
    keep.refresh_from_db()
    assert keep.phone == "13900000000"
    assert CustomerMerge.objects.get(pk=record.pk).moved["left"] == ["phone"]


def test_merge_refusals(pair):
    keep, other = pair["keep"], pair["other"]
    foreign = Customer.objects.create(brand=make_brand())
    with pytest.raises(InvalidInput, match="different brands"):
        customer_merge(keep=keep, merge=foreign, by=None)
    with pytest.raises(InvalidInput, match="into itself"):
        customer_merge(keep=keep, merge=keep, by=None)
    record = customer_merge(keep=keep, merge=other, by=None)
    third = Customer.objects.create(brand=pair["brand"])
    with pytest.raises(InvalidInput, match="already merged"):
        customer_merge(keep=third, merge=other, by=None)
    with pytest.raises(InvalidInput, match="already merged"):
        customer_merge(keep=other, merge=third, by=None)
    customer_unmerge(merge_record=record, by=None)
    with pytest.raises(InvalidInput, match="already undone"):
        customer_unmerge(merge_record=record, by=None)
    assert CustomerMerge.objects.count() == 1


def test_unmerge_of_a_customer_merged_again_since_is_refused(pair):
    keep, other = pair["keep"], pair["other"]
    first = customer_merge(keep=keep, merge=other, by=None)
    third = Customer.objects.create(brand=pair["brand"])
    customer_merge(keep=third, merge=keep, by=None)
    with pytest.raises(InvalidInput, match="unmerge that first"):
        customer_unmerge(merge_record=first, by=None)


def test_unionid_linking_puts_a_noted_customer_into_the_shared_one_and_keeps_the_notes(
        django_capture_on_commit_callbacks):
    brand = make_brand()
    first, second = (make_account(brand=brand, app_secret="") for _ in range(2))
    now = timezone.now()
    f1 = follower_upsert(account=first, openid="o1", at=now, lock=False)[0]
    with django_capture_on_commit_callbacks(execute=True):
        follower_apply_profile(follower=f1, info={"unionid": "uX"}, at=now)
    shared = Customer.objects.get(unionid="uX")
    Customer.objects.filter(pk=shared.pk).update(notes="Shared notes.")
    # The second account's follower arrives; an agent notes on its own customer first.
    f2 = follower_upsert(account=second, openid="o2", at=now, lock=False)[0]
    conversation = make_conversation(follower=f2)
    Customer.objects.filter(pk=f2.customer_id).update(notes="Asked for a refund.")
    _activity(f2.customer, "follow")

    with django_capture_on_commit_callbacks(execute=True):
        follower_apply_profile(follower=f2, info={"unionid": "uX"}, at=now)

    shared.refresh_from_db()
    assert Follower.objects.get(pk=f2.pk).customer_id == shared.pk
    assert shared.notes == "Shared notes.\n\nAsked for a refund."
    assert Conversation.objects.get(pk=conversation.pk).customer_id == shared.pk
    assert shared.activities.filter(kind="follow").exists()
    record = CustomerMerge.objects.get()
    assert record.kept_id == shared.pk and record.by is None
    # A later follower whose unionid names the merged customer goes to the kept one.
    f3 = follower_upsert(account=first, openid="o3", at=now, lock=False)[0]
    old = record.merged
    old.unionid = "uOLD"
    old.save()
    follower_apply_profile(follower=f3, info={"unionid": "uOLD"}, at=now)
    assert Follower.objects.get(pk=f3.pk).customer_id == shared.pk


def test_a_placeholder_timeline_goes_with_the_follower_when_linked():
    brand = make_brand()
    a, b = (make_account(brand=brand, app_secret="") for _ in range(2))
    now = timezone.now()
    f1 = follower_upsert(account=a, openid="o1", at=now, lock=False)[0]
    follower_apply_profile(follower=f1, info={"unionid": "uY"}, at=now)
    f2 = follower_upsert(account=b, openid="o2", at=now, lock=False)[0]
    placeholder = f2.customer_id
    follow = _activity(f2.customer, "follow")
    follower_apply_profile(follower=f2, info={"unionid": "uY"}, at=now)
    assert not Customer.objects.filter(pk=placeholder).exists()
    assert CustomerActivity.objects.get(pk=follow.pk).customer_id == f1.customer_id
