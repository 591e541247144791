"""customers_link_by_unionid: the set-based linking does what follower_link_customer does
one follower at a time."""

from __future__ import annotations

import pytest

from followers.linking import customers_link_by_unionid
from followers.models import Customer, CustomerActivity, Follower
from tests.factories import make_conversation, make_follower

pytestmark = pytest.mark.django_db


def test_followers_with_one_unionid_share_one_customer_and_placeholders_go(
        two_brands, announced):
    a1, a2, b1 = two_brands["a1"], two_brands["a2"], two_brands["b1"]
    brand_a = two_brands["brand_a"]
    # Two placeholders (made on first sight) of one person on two accounts.
    first = make_follower(account=a1, unionid="u-lin")
    second = make_follower(account=a2, unionid="u-lin")
    left_behind = second.customer_id
    CustomerActivity.objects.create(brand=brand_a, customer_id=left_behind, follower=second,
                                    account=a2, kind="follow", at=second.subscribed_at)
    # A customer an agent wrote on takes the unionid and keeps what it holds.
    noted = Customer.objects.create(brand=brand_a, notes="prefers mornings")
    third = make_follower(account=a1, unionid="u-zhao", customer=noted)
    fourth = make_follower(account=a2, unionid="u-zhao")
    # New from a sync: no customer yet, with and without a unionid.
    fifth = make_follower(account=a2, unionid="u-zhao")
    Follower.objects.filter(pk=fifth.pk).update(customer=None)
    lone = make_follower(account=a1)
    Follower.objects.filter(pk=lone.pk).update(customer=None)
    # The same unionid in another brand is another person.
    foreign = make_follower(account=b1, unionid="u-lin")

    changed = customers_link_by_unionid(brand_id=brand_a.pk)
    for f in (first, second, third, fourth, fifth, lone, foreign):
        f.refresh_from_db()
    assert first.customer_id == second.customer_id
    lin = Customer.objects.get(pk=first.customer_id)
    assert lin.unionid == "u-lin" and lin.brand_id == brand_a.pk
    assert third.customer_id == fourth.customer_id == fifth.customer_id == noted.pk
    noted.refresh_from_db()
    assert noted.unionid == "u-zhao" and noted.notes == "prefers mornings"
    assert lone.customer_id is not None and lone.customer_id != first.customer_id
    assert foreign.customer.brand_id == two_brands["brand_b"].pk
    # The placeholder left behind is gone; its timeline line went with the follower.
    assert not Customer.objects.filter(pk=left_behind).exists()
    assert CustomerActivity.objects.get(follower=second).customer_id == lin.pk
    # One `customer.linked` for the batch (not one `customer.merged` per customer left).
    assert [name for name, _p in announced] == ["customer.linked"]
    linked = announced[0][1]
    assert linked["brand_id"] == brand_a.pk
    assert set(linked["follower_ids"]) >= {second.pk, fourth.pk}
    assert set(linked["customer_ids"]) >= {lin.pk, noted.pk}
    assert left_behind in linked["merged_customer_ids"]
    assert changed == 4  # second, fourth, fifth moved; lone got its own
    # Linking again changes nothing.
    assert customers_link_by_unionid(brand_id=brand_a.pk) == 0


def test_a_unionid_whose_customer_was_merged_links_to_the_customer_kept(two_brands):
    from followers.merge import customer_merge

    a1, a2 = two_brands["a1"], two_brands["a2"]
    brand_a = two_brands["brand_a"]
    known = make_follower(account=a1, unionid="u-wang")
    customers_link_by_unionid(brand_id=brand_a.pk)
    known.refresh_from_db()
    holder = known.customer
    assert holder.unionid == "u-wang"
    # A person merges the unionid's customer into the one an agent keeps.
    kept = Customer.objects.create(brand=brand_a, name="Wang Fang", phone="13800000000")
    customer_merge(keep=kept, merge=holder, by=two_brands["admin_a"])
    holder.refresh_from_db()
    assert holder.merged_into_id == kept.pk
    # The same person, new on the other account after a sync: lands with the kept one.
    later = make_follower(account=a2, unionid="u-wang")
    Follower.objects.filter(pk=later.pk).update(customer=None)
    customers_link_by_unionid(brand_id=brand_a.pk)
    later.refresh_from_db()
    known.refresh_from_db()
    assert later.customer_id == kept.pk
    assert known.customer_id == kept.pk


def test_linking_in_batches_moves_every_followers_conversations(
        two_brands, monkeypatch, django_capture_on_commit_callbacks):
    """Delivered (not only announced): messaging moves each moved follower's conversations
    to its customer, whatever batch of `customer.linked` carried it."""
    from accounts import events
    from followers import linking

    monkeypatch.setattr(linking, "LINKED_BATCH", 2)
    seen: list[dict] = []

    def record(name: str, payload: dict) -> None:
        seen.append(payload)

    events.subscribe("customer.linked", record)
    a1, a2 = two_brands["a1"], two_brands["a2"]
    brand_a = two_brands["brand_a"]
    people = []
    for n in range(5):
        here = make_follower(account=a1, unionid=f"u-{n}")
        there = make_follower(account=a2, unionid=f"u-{n}")
        people.append((here, there, make_conversation(follower=there)))
    foreign = make_conversation(follower=make_follower(account=two_brands["b1"],
                                                       unionid="u-0"))
    foreign_customer = foreign.customer_id
    try:
        with django_capture_on_commit_callbacks(execute=True):
            customers_link_by_unionid(brand_id=brand_a.pk)
    finally:
        events.unsubscribe("customer.linked", record)
    # 5 moved followers in batches of at least 2: 3 events, each follower in exactly one.
    assert len(seen) == 3
    carried = [fid for payload in seen for fid in payload["follower_ids"]]
    assert sorted(carried) == sorted(there.pk for _h, there, _c in people)
    for here, there, conversation in people:
        here.refresh_from_db()
        there.refresh_from_db()
        conversation.refresh_from_db()
        assert here.customer_id == there.customer_id == conversation.customer_id
    foreign.refresh_from_db()
    assert foreign.customer_id == foreign_customer
