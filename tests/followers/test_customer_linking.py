"""Followers with one unionid in one brand share one customer.

Linking (followers.services `follower_link_customer`) moves the follower to the brand's
customer for its unionid, deletes the empty placeholder it had, and announces
`customer.merged` after commit; messaging (messaging.subscribers) then moves the
follower's conversations. Each test runs the after-commit callbacks and reads the rows
back, so a link that does nothing, or does it only in memory, fails.
"""

import pytest
from django.utils import timezone

from followers.models import Customer, Follower
from followers.services import follower_apply_profile, follower_upsert
from messaging.models import Conversation
from tests.factories import make_account, make_brand, make_conversation
from tests.messaging.ingest_support import HookRecorder, deliver, text

pytestmark = pytest.mark.django_db


@pytest.fixture
def merged():  # noqa: ANN201
    """The `customer.merged` payloads delivered to subscribers (after commit)."""
    recorder = HookRecorder()
    yield lambda: [payload for name, payload in recorder.seen if name == "customer.merged"]
    recorder.close()


def _customer_of(follower: Follower) -> int | None:
    return Follower.objects.get(pk=follower.pk).customer_id


def test_a_new_follower_gets_a_customer_of_its_own():
    account = make_account(brand=make_brand(), app_secret="")
    follower, created = follower_upsert(account=account, openid="o1", at=timezone.now())
    assert created and follower.customer.unionid == ""
    again, created = follower_upsert(account=account, openid="o1", at=timezone.now())
    assert not created and again.pk == follower.pk
    assert Customer.objects.count() == 1


def test_the_same_unionid_on_two_accounts_moves_the_second_to_the_shared_customer(
    django_capture_on_commit_callbacks, merged
):
    brand = make_brand()
    flagship, property_ = (make_account(brand=brand, app_secret="") for _ in range(2))
    deliver(flagship, text(flagship, "oFlag"))
    deliver(property_, text(property_, "oProp"))
    first, second = flagship.followers.get(), property_.followers.get()
    shared, placeholder = first.customer_id, second.customer_id
    assert shared != placeholder and Customer.objects.count() == 2
    now = timezone.now()

    with django_capture_on_commit_callbacks(execute=True):
        follower_apply_profile(follower=first, info={"unionid": "uSHARED", "language": "en"},
                               at=now)
        follower_apply_profile(follower=second, info={"unionid": "uSHARED"}, at=now)

    # The first to learn the unionid keeps its customer, which takes it; the second moves.
    assert Customer.objects.get(unionid="uSHARED").pk == shared
    assert _customer_of(first) == shared and _customer_of(second) == shared
    assert not Customer.objects.filter(pk=placeholder).exists()
    assert Customer.objects.count() == 1
    # Messaging moved the second follower's conversation with it.
    assert set(Conversation.objects.values_list("customer_id", flat=True)) == {shared}
    assert property_.conversations.get().customer_id == shared
    assert merged() == [{
        "brand_id": brand.pk, "customer_id": shared, "merged_customer_id": placeholder,
        "follower_ids": [second.pk], "by_membership_id": None,
    }]


def test_the_same_unionid_in_another_brand_is_another_customer(
    django_capture_on_commit_callbacks, merged
):
    brand_a, brand_b = make_brand(), make_brand()
    a = make_account(brand=brand_a, app_secret="")
    b = make_account(brand=brand_b, app_secret="")
    fa = follower_upsert(account=a, openid="o1", at=timezone.now(), lock=False)[0]
    fb = follower_upsert(account=b, openid="o1", at=timezone.now(), lock=False)[0]
    own_a, own_b = fa.customer_id, fb.customer_id
    now = timezone.now()

    with django_capture_on_commit_callbacks(execute=True):
        follower_apply_profile(follower=fa, info={"unionid": "u1"}, at=now)
        follower_apply_profile(follower=fb, info={"unionid": "u1"}, at=now)

    # Each keeps its own customer, which learned the unionid inside its own brand.
    assert (_customer_of(fa), _customer_of(fb)) == (own_a, own_b)
    assert set(Customer.objects.filter(unionid="u1").values_list("pk", "brand_id")) == {
        (own_a, brand_a.pk), (own_b, brand_b.pk)}
    assert merged() == []


def test_a_customer_with_notes_is_kept_when_its_follower_moves(
    django_capture_on_commit_callbacks, merged
):
    brand = make_brand()
    first, second = (make_account(brand=brand, app_secret="") for _ in range(2))
    f1 = follower_upsert(account=first, openid="o1", at=timezone.now(), lock=False)[0]
    f2 = follower_upsert(account=second, openid="o2", at=timezone.now(), lock=False)[0]
    conversation = make_conversation(follower=f2)
    # The caller holds the follower with its customer loaded (as it was: empty); an agent
    # writes on that customer afterwards.
    noted = f2.customer.pk
    Customer.objects.filter(pk=noted).update(notes="VIP, prefers email")
    now = timezone.now()

    with django_capture_on_commit_callbacks(execute=True):
        follower_apply_profile(follower=f1, info={"unionid": "u9"}, at=now)
        follower_apply_profile(follower=f2, info={"unionid": "u9"}, at=now)

    shared = Customer.objects.get(unionid="u9").pk
    assert shared == f1.customer_id != noted
    assert _customer_of(f2) == shared
    assert Conversation.objects.get(pk=conversation.pk).customer_id == shared
    # What an agent wrote is not thrown away with the move.
    kept = Customer.objects.get(pk=noted)
    assert kept.notes == "VIP, prefers email" and not kept.followers.exists()
    assert merged() == [{
        "brand_id": brand.pk, "customer_id": shared, "merged_customer_id": noted,
        "follower_ids": [f2.pk], "by_membership_id": None,
    }]


def test_linking_a_follower_already_on_the_shared_customer_changes_nothing(
    django_capture_on_commit_callbacks, merged
):
    brand = make_brand()
    account = make_account(brand=brand, app_secret="")
    follower = follower_upsert(account=account, openid="o1", at=timezone.now(), lock=False)[0]
    conversation = make_conversation(follower=follower)
    now = timezone.now()
    with django_capture_on_commit_callbacks(execute=True):
        follower_apply_profile(follower=follower, info={"unionid": "u5"}, at=now)
    customer = _customer_of(follower)

    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        follower_apply_profile(follower=Follower.objects.get(pk=follower.pk),
                               info={"unionid": "u5", "language": "zh_CN"}, at=now)

    assert _customer_of(follower) == customer and Customer.objects.count() == 1
    assert Conversation.objects.get(pk=conversation.pk).customer_id == customer
    assert merged() == [] and callbacks == []
