"""Conversations follow a person's merge of customers (followers.merge), and come back on
the unmerge. Subscribed to `customer.merged` in messaging.subscribers.

The merge announces kept <- merged; the unmerge announces the same event the other way
(merged <- kept). The record tells which: an open merge of exactly this pair is a merge;
an undone one of the reversed pair is its unmerge. Linking by unionid (no record) is left
to `conversations_follow_customer`, which moves conversations by follower.
"""

from __future__ import annotations

import logging

from django.db import transaction
from django.db.models import Q

from accounts import events
from accounts.events import CustomerMerged
from followers.models import CustomerMerge
from messaging.models import Conversation

logger = logging.getLogger(__name__)


@transaction.atomic
def conversations_follow_merge(name: str, payload: CustomerMerged) -> None:
    brand_id = payload["brand_id"]
    to_id, from_id = payload["customer_id"], payload["merged_customer_id"]
    record = (CustomerMerge.objects.select_for_update()
              .filter(brand_id=brand_id, kept_id=to_id, merged_id=from_id, undone_at__isnull=True)
              .order_by("-at", "-pk").first())
    if record is not None:
        moving = Conversation.objects.filter(brand_id=brand_id).filter(
            Q(customer_id=from_id) | Q(follower_id__in=payload["follower_ids"]))
        ids = sorted(moving.values_list("pk", flat=True))
        Conversation.objects.filter(pk__in=ids).update(customer_id=to_id)
        record.moved = {**record.moved, "conversations": ids}
        record.save(update_fields=["moved"])
        logger.info("conversations moved with a merge",
                    extra={"merge_id": record.pk, "conversations": len(ids)})
        return
    undone = (CustomerMerge.objects.filter(brand_id=brand_id, kept_id=from_id, merged_id=to_id,
                                           undone_at__isnull=False)
              .order_by("-undone_at", "-pk").first())
    if undone is None:
        return  # linking by unionid: conversations_follow_customer moves them by follower
    back = Conversation.objects.filter(brand_id=brand_id, customer_id=from_id).filter(
        Q(pk__in=undone.moved.get("conversations", []))
        | Q(follower_id__in=payload["follower_ids"]))
    moved = back.update(customer_id=to_id)
    logger.info("conversations moved back with an unmerge",
                extra={"merge_id": undone.pk, "conversations": moved})


def subscribe() -> None:
    events.subscribe("customer.merged", conversations_follow_merge)
