"""One process of the assignment concurrency tests (`test_assignment_concurrency.py`):
``python -m tests.routing.assignment_procs <start file> <action> <id>``, the action one
of ``claim <membership id>``, ``drain <team id>`` or ``take <membership id>:<conversation
id>``. It connects to the database DATABASE_URL names, waits until the start file exists
(so all processes start at once), does its part and prints what it got as JSON: the
conversations it claimed, how many the drain assigned, or whether it took the
conversation."""

from __future__ import annotations

import json
import os
import sys
import time


def main(start_file: str, action: str, pk: str) -> None:
    import django

    django.setup()
    from accounts.errors import Conflict
    from accounts.models import Membership
    from accounts.scope import scope_for_membership
    from routing import assignment

    deadline = time.monotonic() + 30
    while not os.path.exists(start_file):
        if time.monotonic() > deadline:
            raise SystemExit("never told to start")
        time.sleep(0.002)
    if action == "claim":
        scope = scope_for_membership(Membership.objects.get(pk=int(pk)))
        claimed: list[int] = []
        refused = False
        while True:
            try:
                convo = assignment.conversation_claim_next(scope=scope)
            except Conflict:
                refused = True
                break
            if convo is None:
                break
            claimed.append(convo.pk)
        print(json.dumps({"claimed": claimed, "refused": refused}))
    elif action == "take":
        # "<membership id>:<conversation id>": an agent assigning a conversation to themself.
        from accounts.errors import RoleRequired
        from messaging.models import Conversation

        membership_id, conversation_id = map(int, pk.split(":"))
        member = Membership.objects.get(pk=membership_id)
        try:
            assignment.conversation_assign(
                scope=scope_for_membership(member),
                conversation=Conversation.objects.get(pk=conversation_id), assignee=member)
        except RoleRequired:
            print(json.dumps({"took": False}))
        else:
            print(json.dumps({"took": True}))
    elif action == "drain":
        print(json.dumps({"assigned": assignment.assign_waiting(team_id=int(pk))}))
    else:
        raise SystemExit(f"unknown action {action!r}")


if __name__ == "__main__":
    main(*sys.argv[1:])
