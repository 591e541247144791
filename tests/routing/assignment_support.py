"""Teams, agents and waiting conversations for the assignment tests."""

from __future__ import annotations

from datetime import datetime, timedelta

from accounts.models import Membership, OfficialAccount, Team
from messaging.models import Conversation
from routing.brand_settings import settings_for
from tests.factories import make_conversation, make_member

AT = datetime.fromisoformat("2026-03-02T10:00:00+08:00")


def agent(team: Team, *, capacity: int = 5, languages: tuple[str, ...] = (),
          presence: str = Membership.Presence.ONLINE, name: str = "") -> Membership:
    member = make_member(brand=team.brand)
    member.capacity, member.languages, member.presence = capacity, list(languages), presence
    member.display_name = name
    member.save(update_fields=["capacity", "languages", "presence", "display_name"])
    member.teams.add(team)
    return member


def waiting(account: OfficialAccount, team: Team | None, n: int, *, language: str = "",
            start: datetime = AT, **fields: object) -> list[Conversation]:
    """``n`` open conversations of ``team``, waiting since ``start`` a minute apart (the
    first waited longest)."""
    return [
        make_conversation(account=account, team=team, language=language,
                          waiting_since=start + timedelta(minutes=i),
                          opened_at=start + timedelta(minutes=i), **fields)
        for i in range(n)
    ]


def held(member: Membership) -> list[int]:
    return sorted(Conversation.objects.filter(assignee=member).values_list("pk", flat=True))


def use_strategy(brand_id: int, strategy: str, **fields: object) -> None:
    settings = settings_for(brand_id)
    settings.strategy = strategy
    for name, value in fields.items():
        setattr(settings, name, value)
    settings.save()
