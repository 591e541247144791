"""Reads for the console that messaging's REST API does not offer: "did I miss anything?"
for the socket, and the customer's profile panel. Lists and messages come from messaging's
selectors through the REST API."""

from datetime import datetime

from django.db.models import Q
from django.utils.dateparse import parse_datetime

from accounts.scope import Scope
from followers.models import Follower
from followers.names import language_name, person_display_name
from messaging.models import Conversation, Message
from messaging.selectors import conversation_queryset


def messages_missed(*, scope: Scope, since: object) -> int | None:
    """Messages of the conversations the requester sees (`conversation_queryset`) newer
    than `since` (an ISO time or a message id); None when `since` is unusable, which the
    client treats as "reload everything"."""
    messages = Message.objects.filter(
        brand_id=scope.brand_id,
        conversation__in=conversation_queryset(scope=scope).values("pk"),
    )
    if isinstance(since, bool) or since is None:
        return None
    if isinstance(since, int):
        return messages.filter(pk__gt=since).count()
    if isinstance(since, str):
        try:
            moment: datetime | None = parse_datetime(since)
        except ValueError:
            return None
        if moment is None or moment.tzinfo is None:
            return None
        return messages.filter(created_at__gt=moment).count()
    return None


def conversation_profile(*, scope: Scope, conversation: Conversation) -> dict:
    """The profile panel: the customer, and their identity (follower) on each account the
    requester serves, with tags and the QR scene that brought them. The conversation must
    have been loaded through messaging's `conversation_queryset(scope=...)`."""
    follower = conversation.follower
    customer = conversation.customer
    followers = Follower.objects.filter(pk=follower.pk)
    if customer is not None:
        followers = Follower.objects.filter(brand_id=scope.brand_id, customer=customer)
        if scope.account_ids is not None:
            followers = followers.filter(Q(account_id__in=scope.account_ids) | Q(pk=follower.pk))
    identities = [
        {
            "id": f.pk,
            "account": {"id": f.account_id, "name": f.account.name},
            "openid": f.openid,
            "subscribed": f.subscribed,
            "subscribed_at": f.subscribed_at.isoformat() if f.subscribed_at else None,
            "qr_scene": f.qr_scene or f.subscribe_scene,
            "language": f.language,
            "language_name": language_name(f.language),
            "region": f.region,
            "remark": f.remark,
            "tags": [t.name for t in f.tags.all()],
        }
        for f in followers.select_related("account").prefetch_related("tags").order_by("pk")
    ]
    language = (customer.language if customer is not None else "") or conversation.language \
        or follower.language
    return {
        "conversation": conversation.pk,
        # The headline and the language in words, in the request's language.
        "display_name": person_display_name(customer=customer, follower=follower),
        "language": language,
        "language_name": language_name(language),
        "customer": None if customer is None else {
            "id": customer.pk,
            "name": customer.name,
            "phone": customer.phone,
            "email": customer.email,
            "language": customer.language,
            "notes": customer.notes,
            "attributes": customer.attributes,
        },
        "identities": identities,
    }
