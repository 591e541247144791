"""Who may see a conversation: one rule, read two ways.

A member of the conversation's brand sees it when any of these holds:

1. they see the whole brand: an owner or admin, or a member who serves no account in
   particular ("none = all"); brand API keys see the whole brand too;
2. they serve its *handling* account (after an account-to-account transfer that is the
   new account, not the one the follower writes to);
3. they belong to its team;
4. they are its assignee;
5. a colleague @mentioned them in a private note and the mention is open (`Mention`,
   ended_at empty): they read it while consulted, until they dismiss the mention or the
   conversation is resolved (`routing.mentions`).

A mention lets a member read a conversation, never hold it: `may_hold` leaves ground 5
out, as it leaves out ground 4 (neither can justify an assignment).

The selectors, the services, the console's real-time audience and every count use the
two readings below, and nothing else: `visible_to(scope)` filters conversations for one
requester; `audience(place)` finds the members who see a conversation placed somewhere
(`audiences(places)`: the same for many places in one statement).
`tests/messaging/test_visibility_rule.py` walks every path and checks they agree.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from django.db import connection
from django.db.models import Exists, OuterRef, Q, QuerySet

from accounts.models import BRAND_WIDE_ROLES, Membership, Team
from accounts.scope import Scope
from messaging.models import Conversation, Mention

_Served = Membership.accounts.through
_TeamMembers = Membership.teams.through


@dataclass(frozen=True)
class Place:
    """What decides who sees a conversation: its brand, handling account, team and
    assignee, and the conversation itself for its open mentions (None: a place without a
    conversation, as where it was before a transfer, has no mentions)."""

    brand_id: int
    handling_account_id: int | None
    team_id: int | None
    assignee_id: int | None
    conversation_id: int | None = None

    @classmethod
    def of(cls, conversation: object) -> Place:
        return cls(
            brand_id=conversation.brand_id,  # type: ignore[attr-defined]
            handling_account_id=conversation.handling_account_id,  # type: ignore[attr-defined]
            team_id=conversation.team_id,  # type: ignore[attr-defined]
            assignee_id=conversation.assignee_id,  # type: ignore[attr-defined]
            conversation_id=conversation.pk,  # type: ignore[attr-defined]
        )


def visible_to(scope: Scope, *, consulted: bool = True) -> Q:
    """The rule as a filter on conversations, for one requester (and the brand). Without
    ``consulted``, ground 5 is left out: what the requester may act on (reply, resolve,
    hand on), not only read."""
    brand = Q(brand_id=scope.brand_id)
    if scope.account_ids is None:  # ground 1 (scope_for_membership folds "none = all" in)
        return brand
    grounds = Q(handling_account_id__in=scope.account_ids)  # ground 2
    if scope.membership is not None:
        grounds |= Q(team_id__in=Team.objects.filter(members=scope.membership).values("pk"))
        grounds |= Q(assignee_id=scope.membership.pk)  # ground 4
        if consulted:
            grounds |= Q(pk__in=Mention.objects.filter(  # ground 5
                member=scope.membership, ended_at__isnull=True).values("conversation_id"))
    return brand & grounds


def only_consulted(scope: Scope, conversation: Conversation) -> bool:
    """Whether the requester sees the conversation (a row just read through their scope)
    only because a colleague mentioned them: they read along and write notes, they do not
    reply, resolve or hand it on. Grounds 2 and 4 are read off the row, which is how most
    acts go (an agent on a conversation they hold or whose account they serve): no
    statement. Otherwise the rule without ground 5 is asked (`visible_to`)."""
    if scope.account_ids is None or scope.membership is None:
        return False
    if (conversation.assignee_id == scope.membership.pk
            or conversation.handling_account_id in scope.account_ids):
        return False
    return not Conversation.objects.filter(visible_to(scope, consulted=False),
                                           pk=conversation.pk).exists()


def audience(place: Place) -> QuerySet[Membership]:
    """The rule read the other way: the members who see a conversation at ``place``."""
    serves_some = Exists(_Served.objects.filter(membership_id=OuterRef("pk")))
    grounds = Q(role__in=BRAND_WIDE_ROLES) | ~serves_some  # ground 1
    if place.handling_account_id is not None:
        grounds |= Exists(_Served.objects.filter(  # ground 2
            membership_id=OuterRef("pk"), officialaccount_id=place.handling_account_id))
    if place.team_id is not None:
        grounds |= Exists(_TeamMembers.objects.filter(  # ground 3
            membership_id=OuterRef("pk"), team_id=place.team_id))
    if place.assignee_id is not None:
        grounds |= Q(pk=place.assignee_id)  # ground 4
    if place.conversation_id is not None:
        grounds |= Exists(Mention.objects.filter(  # ground 5
            member_id=OuterRef("pk"), conversation_id=place.conversation_id,
            ended_at__isnull=True))
    return Membership.objects.filter(grounds, brand_id=place.brand_id)


def audience_ids(place: Place) -> list[int]:
    return sorted(audience(place).values_list("pk", flat=True))


def audiences(places: Iterable[Place]) -> dict[Place, list[int]]:
    """`audience_ids` for many places at once (the console's push of a batch of events):
    the same five grounds as `audience`, each a branch of one UNION over the places, in
    one statement whatever their number. Written as SQL because the push runs for every
    event and building the ORM's form of it cost more than running it."""
    places = list(dict.fromkeys(places))
    if not places:
        return {}
    member, served = Membership._meta.db_table, _Served._meta.db_table
    team_members, mention = _TeamMembers._meta.db_table, Mention._meta.db_table
    rows = ", ".join(["(CAST(%s AS bigint), CAST(%s AS bigint), CAST(%s AS bigint), "
                      "CAST(%s AS bigint), CAST(%s AS bigint), CAST(%s AS bigint))"]
                     * len(places))
    wide = ", ".join(["%s"] * len(BRAND_WIDE_ROLES))
    sql = f"""
        WITH place (k, brand_id, account_id, team_id, assignee_id, conversation_id)
            AS (VALUES {rows})
        SELECT p.k, m.id FROM place p JOIN {member} m ON m.brand_id = p.brand_id
            WHERE m.role IN ({wide}) OR NOT EXISTS (
                SELECT 1 FROM {served} s WHERE s.membership_id = m.id)
        UNION SELECT p.k, m.id FROM place p
            JOIN {served} s ON s.officialaccount_id = p.account_id
            JOIN {member} m ON m.id = s.membership_id AND m.brand_id = p.brand_id
        UNION SELECT p.k, m.id FROM place p
            JOIN {team_members} t ON t.team_id = p.team_id
            JOIN {member} m ON m.id = t.membership_id AND m.brand_id = p.brand_id
        UNION SELECT p.k, m.id FROM place p
            JOIN {member} m ON m.id = p.assignee_id AND m.brand_id = p.brand_id
        UNION SELECT p.k, m.id FROM place p
            JOIN {mention} x ON x.conversation_id = p.conversation_id AND x.ended_at IS NULL
            JOIN {member} m ON m.id = x.member_id AND m.brand_id = p.brand_id
    """  # noqa: S608 (table names from the models; every value is a parameter)
    params: list = []
    for k, place in enumerate(places):
        params += [k, place.brand_id, place.handling_account_id, place.team_id,
                   place.assignee_id, place.conversation_id]
    params += sorted(BRAND_WIDE_ROLES)
    found: dict[int, list[int]] = {k: [] for k in range(len(places))}
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        for k, member_id in cursor.fetchall():
            found[k].append(member_id)
    return {place: sorted(found[k]) for k, place in enumerate(places)}


def may_hold(member: Membership, place: Place) -> bool:
    """Whether ``member`` may be given a conversation at ``place``: whether they would see
    it without being its assignee (an assignment cannot be its own justification) and
    without a mention (a consulted colleague reads along, nothing more)."""
    unassigned = Place(place.brand_id, place.handling_account_id, place.team_id, None, None)
    return audience(unassigned).filter(pk=member.pk).exists()
