"""Followers with one unionid in one brand share one customer."""

import pytest
from django.utils import timezone

from followers.models import Customer
from followers.services import follower_apply_profile, follower_upsert
from tests.factories import make_account, make_brand
from tests.messaging.ingest_support import deliver, text

pytestmark = pytest.mark.django_db


def test_a_new_follower_gets_a_customer_of_its_own():
    account = make_account(brand=make_brand(), app_secret="")
    follower, created = follower_upsert(account=account, openid="o1", at=timezone.now())
    assert created and follower.customer.unionid == ""
    again, created = follower_upsert(account=account, openid="o1", at=timezone.now())
    assert not created and again.pk == follower.pk
    assert Customer.objects.count() == 1


def test_the_same_unionid_on_two_accounts_is_one_customer():
    brand = make_brand()
    flagship, property_ = (make_account(brand=brand, app_secret="") for _ in range(2))
    deliver(flagship, text(flagship, "oFlag"))
    deliver(property_, text(property_, "oProp"))
    now = timezone.now()
    first = follower_apply_profile(follower=flagship.followers.get(), info={
        "unionid": "uSHARED", "language": "en"}, at=now)
    second = follower_apply_profile(follower=property_.followers.get(), info={
        "unionid": "uSHARED"}, at=now)
    assert first.customer_id == second.customer_id
    assert Customer.objects.count() == 1  # the second's empty placeholder is gone
    conversation = property_.conversations.get()
    assert conversation.customer_id == first.customer_id


def test_the_same_unionid_in_another_brand_is_another_customer():
    a, b = make_account(brand=make_brand(), app_secret=""), make_account(
        brand=make_brand(), app_secret="")
    fa = follower_upsert(account=a, openid="o1", at=timezone.now(), lock=False)[0]
    fb = follower_upsert(account=b, openid="o1", at=timezone.now(), lock=False)[0]
    now = timezone.now()
    ca = follower_apply_profile(follower=fa, info={"unionid": "u1"}, at=now).customer_id
    cb = follower_apply_profile(follower=fb, info={"unionid": "u1"}, at=now).customer_id
    assert ca != cb


def test_a_customer_with_notes_is_kept_when_its_follower_moves():
    brand = make_brand()
    first, second = (make_account(brand=brand, app_secret="") for _ in range(2))
    f1 = follower_upsert(account=first, openid="o1", at=timezone.now(), lock=False)[0]
    f2 = follower_upsert(account=second, openid="o2", at=timezone.now(), lock=False)[0]
    Customer.objects.filter(pk=f2.customer_id).update(notes="VIP, prefers email")
    now = timezone.now()
    follower_apply_profile(follower=f1, info={"unionid": "u9"}, at=now)
    follower_apply_profile(follower=f2, info={"unionid": "u9"}, at=now)
    assert Customer.objects.filter(notes="VIP, prefers email").exists()
