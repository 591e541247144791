"""The personal-data eraser (followers.erasure): the brand's retention period after a
customer's last unfollow, a follow-again inside it, another account still followed, and
messaging blanking the message contents while keeping the rows and times."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from followers.models import CrmRetention, Customer, CustomerActivity, FollowEvent, QRCode
from followers.tasks_campaigns import retention_erase_task
from messaging.models import Message
from tests.factories import make_conversation, make_follower

pytestmark = pytest.mark.django_db

PERSONAL = {"name": "Li Lei", "phone": "+86 138 0000 0000", "email": "li@example.com",
            "notes": "VIP at the launch", "attributes": {"size": "M"}}


def _customer(brand, unionid):  # noqa: ANN001, ANN202
    return Customer.objects.create(brand=brand, unionid=unionid, **PERSONAL)


def _gone(account, customer, days_ago, **fields):  # noqa: ANN001, ANN003, ANN202
    now = timezone.now()
    return make_follower(account=account, customer=customer, subscribed=False,
                         unsubscribed_at=now - timedelta(days=days_ago), remark="Lei",
                         region="China Shanghai", latitude=31.2, longitude=121.5,
                         location_at=now - timedelta(days=40), unionid=customer.unionid,
                         gender=1, **fields)


def test_erased_after_the_period_and_only_then(two_brands, django_capture_on_commit_callbacks):
    brand, a1, a2 = two_brands["brand_a"], two_brands["a1"], two_brands["a2"]
    due = _customer(brand, "u-due")
    follower = _gone(a1, due, days_ago=31)
    code = QRCode.objects.create(brand=brand, account=a1, kind="permanent", scene="9",
                                 campaign=_campaign(brand))
    follower.qrcode = code
    follower.save(update_fields=["qrcode"])
    FollowEvent.objects.create(brand=brand, account=a1, follower=follower, kind="follow",
                               qrcode=code, at=timezone.now() - timedelta(days=90))
    conversation = make_conversation(follower=follower)
    said = Message.objects.create(brand=brand, conversation=conversation, account=a1,
                                  direction="in", content="my address is 1 Nanjing Rd",
                                  payload={"Content": "my address is 1 Nanjing Rd"})
    recent = _customer(brand, "u-recent")
    _gone(a1, recent, days_ago=29)
    # Follows again inside the period: the unfollow is history, they follow now.
    back = _customer(brand, "u-back")
    make_follower(account=a1, customer=back, subscribed=True, remark="back",
                  unsubscribed_at=timezone.now() - timedelta(days=40))
    # Left one account long ago, still follows another of the brand.
    other = _customer(brand, "u-other")
    _gone(a1, other, days_ago=60)
    make_follower(account=a2, customer=other, subscribed=True)
    # Brand B keeps forever (0 days).
    CrmRetention.objects.create(brand=two_brands["brand_b"], erase_after_days=0)
    keeper = _customer(two_brands["brand_b"], "u-b")
    _gone(two_brands["b1"], keeper, days_ago=400)

    with django_capture_on_commit_callbacks(execute=True):
        assert retention_erase_task() == 1
    due.refresh_from_db()
    follower.refresh_from_db()
    assert (due.name, due.phone, due.email, due.notes, due.attributes, due.unionid) == (
        "", "", "", "", {}, "")
    assert (follower.remark, follower.region, follower.latitude, follower.longitude,
            follower.location_at, follower.unionid, follower.gender) == (
        "", "", None, None, None, "", 0)
    # Counts and attribution stay: the follower, its code, its follow event, the message row.
    assert follower.openid and follower.qrcode_id == code.pk
    assert FollowEvent.objects.filter(follower=follower, qrcode=code).count() == 1
    said.refresh_from_db()
    assert (said.content, said.payload, said.direction) == ("", {}, "in")
    assert said.created_at is not None
    activity = CustomerActivity.objects.get(customer=due)
    assert activity.kind == "erased" and "phone" in activity.data["fields"]
    for kept in (recent, back, other, keeper):
        kept.refresh_from_db()
        assert kept.name == PERSONAL["name"] and kept.phone == PERSONAL["phone"]
    # Nothing left to erase: a second run changes nothing.
    assert retention_erase_task() == 0
    # A brand that shortens its period: the recent one goes too.
    CrmRetention.objects.create(brand=brand, erase_after_days=7)
    assert retention_erase_task() == 1
    recent.refresh_from_db()
    assert recent.name == ""


def _campaign(brand):  # noqa: ANN001, ANN202
    from followers.models import Campaign

    return Campaign.objects.create(brand=brand, name="Erasure", channel="print")
