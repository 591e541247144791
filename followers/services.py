"""Writes to the CRM: followers as the platform reports them, and their customers."""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from django.db import IntegrityError, transaction

from accounts import events
from accounts.models import OfficialAccount
from followers.events import customer_merged
from followers.models import Customer, CustomerActivity, Follower

logger = logging.getLogger(__name__)

# Profile fields user/info gives (docs/wechat.md §7) that we keep on the follower.
_SCENE_MAX = Follower._meta.get_field("subscribe_scene").max_length
_QR_MAX = Follower._meta.get_field("qr_scene").max_length


def follower_upsert(
    *, account: OfficialAccount, openid: str, at: datetime, subscribed: bool = True,
    lock: bool = True,
) -> tuple[Follower, bool]:
    """The follower of ``account`` with ``openid``, created when first seen; (follower, created).

    With ``lock`` (the default) the row comes back locked FOR UPDATE, which serialises
    everything ingestion does for one follower (opening a conversation, the window): so the
    caller must be inside a transaction. A new follower gets a customer of its own at once,
    so the console always has one to show; ``follower_link_customer`` moves it to the
    brand's shared customer once the unionid is known.
    """
    base = Follower.objects.filter(account=account, openid=openid)
    found = (base.select_for_update() if lock else base).first()
    if found is not None:
        return found, False
    customer = Customer.objects.create(brand_id=account.brand_id)
    candidate = Follower(
        brand_id=account.brand_id, account=account, openid=openid, customer=customer,
        subscribed=subscribed, subscribed_at=at if subscribed else None,
    )
    # ON CONFLICT DO NOTHING: a concurrent delivery for the same new follower may win.
    Follower.objects.bulk_create([candidate], ignore_conflicts=True)
    follower = (base.select_for_update() if lock else base).get()
    created = follower.customer_id == customer.pk
    if not created:
        customer.delete()
    return follower, created


def follower_apply_profile(*, follower: Follower, info: dict[str, Any], at: datetime) -> Follower:
    """Keep what ``user/info`` told us about the follower, then link the customer."""
    follower.language = str(info.get("language") or follower.language)[:16]
    follower.unionid = str(info.get("unionid") or follower.unionid)[:64]
    scene = info.get("subscribe_scene")
    if scene:
        follower.subscribe_scene = str(scene)[:_SCENE_MAX]
    qr = info.get("qr_scene_str") or info.get("qr_scene")
    if qr and not follower.qr_scene:
        follower.qr_scene = str(qr)[:_QR_MAX]
    region = " ".join(str(info.get(k) or "") for k in ("country", "province", "city")).strip()
    if region:
        follower.region = region[:64]
    if info.get("remark"):
        follower.remark = str(info["remark"])[:30]
    if str(info.get("sex", "")) in ("0", "1", "2"):
        follower.gender = int(info["sex"])  # 0 unknown (always, since 2021), 1 male, 2 female
    follower.profile_fetched_at = at
    follower.save(
        update_fields=[
            "language", "unionid", "subscribe_scene", "qr_scene", "region", "remark",
            "gender", "profile_fetched_at",
        ]
    )
    follower_link_customer(follower=follower)
    return follower


def _is_placeholder(customer: Customer) -> bool:
    """A customer made for a follower on first sight, nobody has written on it since."""
    return not (customer.unionid or customer.name or customer.phone or customer.email
                or customer.notes or customer.attributes)


@transaction.atomic
def follower_link_customer(*, follower: Follower) -> Customer:
    """Give the follower the brand's customer for its unionid (or one of its own).

    Followers with one unionid in one brand share a customer. When the follower's own
    placeholder is the first to learn the unionid it simply takes it; when another
    customer already has it, the follower moves there, the empty placeholder is deleted,
    and `customer.merged` is announced (messaging moves the conversations).
    """
    current = follower.customer
    if not follower.unionid:
        if current is None:
            current = Customer.objects.create(brand_id=follower.brand_id)
            follower.customer = current
            follower.save(update_fields=["customer"])
        return current
    shared = (
        Customer.objects.select_for_update()
        .filter(brand_id=follower.brand_id, unionid=follower.unionid)
        .first()
    )
    if shared is None and current is not None and not current.unionid:
        try:
            with transaction.atomic():
                current.unionid = follower.unionid
                current.save(update_fields=["unionid", "updated_at"])
            return current
        except IntegrityError:
            # Another account's follower with this unionid was linked a moment ago.
            current.unionid = ""
    if shared is None:
        shared, _created = Customer.objects.get_or_create(
            brand_id=follower.brand_id, unionid=follower.unionid
        )
    # A person merged the unionid's customer into another (followers.merge): that one.
    while shared.merged_into_id is not None:
        shared = Customer.objects.select_for_update().get(pk=shared.merged_into_id)
    if current is not None and current.pk == shared.pk:
        return shared
    if current is not None:
        mine = Customer.objects.select_for_update().filter(pk=current.pk).first()
        if (mine is not None and not _is_placeholder(mine) and mine.merged_into_id is None
                and not mine.followers.exclude(pk=follower.pk).exists()):
            # Someone wrote on the follower's own customer (notes, a phone) before its
            # unionid was known: a merge, audited, so nothing is lost and it can be undone.
            from followers.merge import customer_merge

            customer_merge(keep=shared, merge=mine, by=None)
            follower.customer = shared
            logger.info("follower's customer merged into the brand customer",
                        extra={"follower_id": follower.pk, "customer_id": shared.pk})
            return shared
    follower.customer = shared
    follower.save(update_fields=["customer"])
    if current is not None:
        # Messaging, above us, moves the follower's conversations to the shared customer
        # when this commits (`customer.merged`).
        events.announce("customer.merged", customer_merged(
            brand_id=follower.brand_id, customer_id=shared.pk, merged_customer_id=current.pk,
            follower_ids=[follower.pk], by_membership_id=None,
        ))
        # Judged on the row as it is now, locked, not on the copy the caller loaded: an
        # agent may have written on the customer since, and that must not be deleted.
        left = Customer.objects.select_for_update().filter(pk=current.pk).first()
        if left is not None and _is_placeholder(left) and not left.followers.exists():
            # Its timeline (a follow, a scan) is the person's: it goes with them.
            CustomerActivity.objects.filter(customer=left).update(customer=shared)
            left.delete()
    logger.info(
        "follower linked to the brand customer",
        extra={"follower_id": follower.pk, "customer_id": shared.pk},
    )
    return shared
