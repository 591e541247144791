"""What messaging does when the apps below it announce something (`accounts.events`)."""

from __future__ import annotations

import logging

from django.db.models import F, OuterRef, Subquery

from accounts import events
from accounts.events import CustomerMerged, CustomersLinked
from followers.models import Follower
from messaging.models import Conversation

logger = logging.getLogger(__name__)


def conversations_follow_customer(name: str, payload: CustomerMerged) -> None:
    """Followers moved to another customer: their conversations go with them, so the
    console shows one person's history across accounts."""
    moved = Conversation.objects.filter(
        brand_id=payload["brand_id"], follower_id__in=payload["follower_ids"]
    ).update(customer_id=payload["customer_id"])
    logger.info("conversations moved with their followers",
                extra={"customer_id": payload["customer_id"], "conversations": moved})


def conversations_follow_links(name: str, payload: CustomersLinked) -> None:
    """Linking by unionid moved a batch of followers: each one's conversations take the
    follower's customer now, in one statement for the batch."""
    customer_now = Follower.objects.filter(pk=OuterRef("follower_id")).values("customer_id")[:1]
    moved = (Conversation.objects
             .filter(brand_id=payload["brand_id"], follower_id__in=payload["follower_ids"])
             .exclude(customer_id=F("follower__customer_id"))
             .update(customer_id=Subquery(customer_now)))
    logger.info("conversations moved with linked followers",
                extra={"followers": len(payload["follower_ids"]), "conversations": moved})


def subscribe() -> None:
    from messaging import customer_merge

    events.subscribe("customer.merged", conversations_follow_customer)
    events.subscribe("customer.linked", conversations_follow_links)
    customer_merge.subscribe()
    from messaging import keyword_rules  # the CRM's tag rules (keyword and behaviour)

    keyword_rules.subscribe()
    from messaging import erasure  # the CRM's personal-data eraser: message contents

    erasure.subscribe()
