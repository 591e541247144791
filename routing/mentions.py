"""Private consultation: the mentions a member holds, and how they end.

A private note's @mention (`messaging.services.message_note`) lets a colleague read the
conversation (`messaging.visibility`, ground 5) without holding it. The mention ends when
the mentioned member dismisses it, or when the conversation is resolved: the consultation
was about a wait that is over, and a reopened conversation is routed afresh. A transfer
leaves mentions open: a colleague consulted before it may still be the one to advise.
"""

from __future__ import annotations

from django.db.models import QuerySet
from django.utils import timezone

from accounts import events
from accounts.errors import RoleRequired
from accounts.models import Membership
from accounts.scope import Scope
from messaging.models import Mention


def mention_list(*, scope: Scope) -> QuerySet[Mention]:
    """The requester's open mentions, newest first (an API key is nobody's colleague)."""
    if scope.membership is None:
        return Mention.objects.none()
    return (Mention.objects.filter(brand_id=scope.brand_id, member=scope.membership,
                                   ended_at__isnull=True)
            .select_related("note", "by__user", "conversation__follower",
                            "conversation__customer")
            .order_by("-created_at", "-pk"))


def mention_candidates(*, scope: Scope) -> QuerySet[Membership]:
    """Whom a note may mention: the brand's members but the requester. Wider than the
    requester's own accounts on purpose: the colleague consulted is often elsewhere."""
    if scope.membership is None:
        raise RoleRequired("only a member can mention colleagues")
    return (Membership.objects.filter(brand_id=scope.brand_id)
            .exclude(pk=scope.membership.pk).select_related("user").order_by("pk"))


def mention_end(*, scope: Scope, mention: Mention) -> Mention:
    """The mentioned member dismisses the mention: they stop seeing the conversation
    unless another ground of the rule shows it (their screen, which asked, reloads).
    Ending an ended mention changes nothing."""
    Mention.objects.filter(pk=mention.pk, member=scope.membership,
                                   ended_at__isnull=True).update(ended_at=timezone.now())
    mention.refresh_from_db()
    return mention


def mentions_end_for(*, conversation_id: int) -> int:
    """End the conversation's open mentions; answers how many."""
    return Mention.objects.filter(conversation_id=conversation_id,
                                  ended_at__isnull=True).update(ended_at=timezone.now())


def _on_resolved(name: str, payload: dict) -> None:
    mentions_end_for(conversation_id=payload["conversation_id"])


def subscribe() -> None:
    events.subscribe("conversation.resolved", _on_resolved)
