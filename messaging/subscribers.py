"""What messaging does when the apps below it announce something (`accounts.events`)."""

from __future__ import annotations

import logging

from accounts import events
from accounts.events import CustomerMerged
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


def subscribe() -> None:
    from messaging import customer_merge

    events.subscribe("customer.merged", conversations_follow_customer)
    customer_merge.subscribe()
    from messaging import keyword_rules  # the CRM's tag rules (keyword and behaviour)

    keyword_rules.subscribe()
    from messaging import erasure  # the CRM's personal-data eraser: message contents

    erasure.subscribe()
