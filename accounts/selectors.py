"""Reads. Every function takes the requester's scope and starts its query from it."""

from django.db.models import Q, QuerySet

from accounts.models import ApiKey, Invitation, Membership, OfficialAccount, Team
from accounts.scope import Scope


def account_list(*, scope: Scope, filters: dict | None = None) -> QuerySet[OfficialAccount]:
    qs = scope.accounts()
    filters = filters or {}
    if kind := filters.get("kind"):
        qs = qs.filter(kind=kind)
    if (verified := filters.get("verified")) not in (None, ""):
        qs = qs.filter(verified=str(verified).lower() in {"1", "true", "yes"})
    if q := filters.get("q"):
        qs = qs.filter(Q(name__icontains=q) | Q(appid__icontains=q) | Q(original_id__icontains=q))
    return qs


def team_list(*, scope: Scope) -> QuerySet[Team]:
    qs = Team.objects.filter(brand_id=scope.brand_id)
    if scope.account_ids is not None:
        # A team is visible when it covers one of my accounts, covers every account
        # (no accounts set), or has me as a member.
        qs = qs.filter(
            Q(accounts__in=scope.account_ids)
            | Q(accounts__isnull=True)
            | Q(members=scope.membership)
        ).distinct()
    return qs.prefetch_related("accounts")


def member_list(*, scope: Scope) -> QuerySet[Membership]:
    qs = Membership.objects.filter(brand_id=scope.brand_id).select_related("user")
    if scope.role == "agent" and scope.membership is not None:
        # An agent sees their own membership only.
        return qs.filter(pk=scope.membership.pk).prefetch_related("accounts", "teams")
    if scope.account_ids is not None:
        # Managers see the people who work on their accounts (or on all accounts).
        qs = qs.filter(
            Q(accounts__in=scope.account_ids)
            | Q(accounts__isnull=True)
            | Q(role__in=["owner", "admin"])
        ).distinct()
    return qs.prefetch_related("accounts", "teams")


def invitation_list(*, scope: Scope) -> QuerySet[Invitation]:
    return Invitation.objects.filter(brand_id=scope.brand_id, accepted_at__isnull=True)


def api_key_list(*, scope: Scope) -> QuerySet[ApiKey]:
    return ApiKey.objects.filter(brand_id=scope.brand_id)


def membership_removal_effects(*, membership: Membership) -> dict[str, int]:
    """What removing a member touches, for the confirmation page: the conversations
    assigned to them that are not resolved (they become unassigned; see
    messaging.Conversation.assignee, SET_NULL) and the teams they leave."""
    return {
        "open_conversations": membership.conversations.exclude(status="resolved").count(),
        "teams": membership.teams.count(),
    }


def team_deletion_effects(*, team: Team) -> dict[str, int]:
    """What deleting a team touches: its members (they stay in the brand) and its
    conversations that are not resolved (they keep account and assignee, lose the team)."""
    return {
        "members": team.members.count(),
        "open_conversations": team.conversations.exclude(status="resolved").count(),
    }
