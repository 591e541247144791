"""Messaging's part of the personal-data eraser (followers.erasure): when customers are
erased (`customer.erased`), the messages of their conversations lose their contents
(text, payload, media file), and the rows, directions, types, statuses and times stay,
so the conversation statistics (counts, response times) are kept, anonymised."""

from __future__ import annotations

import logging

from django.db.models import Q

from accounts import events
from accounts.events import CustomerErased
from messaging.models import Conversation, Message

logger = logging.getLogger(__name__)


def messages_erase(name: str, payload: CustomerErased) -> None:
    conversations = Conversation.objects.filter(brand_id=payload["brand_id"]).filter(
        Q(customer_id__in=payload["customer_ids"]) | Q(follower_id__in=payload["follower_ids"]))
    messages = Message.objects.filter(brand_id=payload["brand_id"],
                                      conversation__in=conversations)
    for message in messages.exclude(media="").only("pk", "media").iterator():
        message.media.delete(save=False)
    blanked = messages.update(content="", payload={}, media="")
    logger.info("message contents erased", extra={"brand_id": payload["brand_id"],
                                                  "messages": blanked})


def subscribe() -> None:
    events.subscribe("customer.erased", messages_erase)
