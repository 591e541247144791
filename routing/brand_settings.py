"""Reading routing's per-brand, per-team and per-agent rows, created on first read."""

from __future__ import annotations

from accounts.models import Membership, Team
from routing.models import AgentState, RoutingSettings, TeamTargets


def settings_for(brand_id: int) -> RoutingSettings:
    """The brand's routing settings (defaults until an admin changes them)."""
    row, _created = RoutingSettings.objects.get_or_create(brand_id=brand_id)
    return row


def targets_for(team: Team | int) -> TeamTargets:
    team_id = team if isinstance(team, int) else team.pk
    row, _created = TeamTargets.objects.get_or_create(team_id=team_id)
    return row


def agent_state_for(membership: Membership | int) -> AgentState:
    membership_id = membership if isinstance(membership, int) else membership.pk
    row, _created = AgentState.objects.get_or_create(membership_id=membership_id)
    return row
