"""Transfers (routing.transfers): every kind, the receiver's answer, the answer-time sweep,
"hand to a speaker", what is announced and what is refused."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from accounts.errors import Conflict, InvalidInput, NotInScope, RoleRequired
from accounts.models import Membership
from accounts.scope import scope_for_membership
from messaging import services
from messaging.models import Conversation, Message
from routing import transfers
from routing.brand_settings import settings_for
from routing.models import RoutingDecision, Transfer
from tests.factories import make_conversation, make_member, make_team

pytestmark = pytest.mark.django_db


def _changes(announced: list[tuple[str, dict]]) -> list[tuple[str, dict]]:
    return [(name, payload) for name, payload in announced if name.startswith("conversation.")]


def _agent(brand, *, name: str, accounts=(), teams=(), online: bool = True,
           languages=(), capacity: int = 5) -> Membership:
    member = make_member(brand=brand, accounts=list(accounts))
    member.teams.set(list(teams))
    Membership.objects.filter(pk=member.pk).update(
        display_name=name, presence="online" if online else "offline",
        languages=list(languages), capacity=capacity)
    member.refresh_from_db()
    return member


@pytest.fixture
def hotel(two_brands):
    """The flagship's Lily holds a guest's conversation (flagship, team A); the property
    (a2) has a concierge team with Chen in it."""
    brand = two_brands["brand_a"]
    concierge = make_team(brand=brand, name="Concierge", accounts=[two_brands["a2"]])
    lily = _agent(brand, name="Lily", accounts=[two_brands["a1"]], teams=[two_brands["team_a"]])
    chen = _agent(brand, name="Chen", accounts=[two_brands["a2"]], teams=[concierge])
    convo = two_brands["conversation_a"]
    Conversation.objects.filter(pk=convo.pk).update(assignee=lily)
    convo.refresh_from_db()
    return {**two_brands, "concierge": concierge, "lily": lily, "chen": chen, "convo": convo,
            "lily_scope": scope_for_membership(lily), "chen_scope": scope_for_membership(chen)}


def _relay(h, **more) -> Transfer:
    """Lily hands the guest to the property's concierge team (unless told otherwise)."""
    if "to_agent" not in more:
        more.setdefault("to_team", h["concierge"])
    return transfers.transfer_create(
        scope=h["lily_scope"], conversation=h["convo"], to_account=h["a2"],
        path=more.pop("path", "relay"), note=more.pop("note", "Airport pick-up at 18:00"),
        by=h["lily"], **more)


def _place(convo: Conversation) -> tuple:
    convo.refresh_from_db()
    return convo.handling_account_id, convo.team_id, convo.assignee_id


# -- kinds ----------------------------------------------------------------------------------


def test_an_account_relay_moves_it_at_once_to_its_team(hotel, announced) -> None:
    at = timezone.now()
    transfer = _relay(hotel)
    convo = hotel["convo"]
    assert _place(convo) == (hotel["a2"].pk, hotel["concierge"].pk, None)
    assert convo.channel_account == hotel["a1"]  # replies still go out through a1
    assert (transfer.kind, transfer.path, transfer.status) == ("account", "relay", "pending")
    assert (transfer.from_account, transfer.from_team, transfer.from_agent) == (
        hotel["a1"], hotel["team_a"], hotel["lily"])
    assert (transfer.to_account, transfer.to_team, transfer.to_agent) == (
        hotel["a2"], hotel["concierge"], None)
    minutes = settings_for(hotel["brand_a"].pk).transfer_timeout_minutes
    assert at + timedelta(minutes=minutes) <= transfer.expires_at
    assert transfer.expires_at <= timezone.now() + timedelta(minutes=minutes)
    ((name, change),) = _changes(announced)
    assert name == "conversation.transferred"
    assert change["previous_assignee_id"] == hotel["lily"].pk
    assert change["by_membership_id"] == hotel["lily"].pk
    assert change["handling_account_id"] == hotel["a2"].pk
    assert change["team_id"] == hotel["concierge"].pk and change["assignee_id"] is None
    assert change["previous_handling_account_id"] == hotel["a1"].pk
    assert change["previous_team_id"] == hotel["team_a"].pk
    line = Message.objects.get(conversation=convo, direction="system")
    assert line.content == "→ Concierge · A property\nAirport pick-up at 18:00"
    assert line.payload["transfer"]["to_account"] == hotel["a2"].pk
    assert line.payload["transfer"]["id"] == transfer.pk
    decision = RoutingDecision.objects.get(conversation=convo)
    assert decision.kind == "transferred" and decision.team == hotel["concierge"]
    assert decision.steps[0]["step"] == "transfer" and decision.steps[0]["path"] == "relay"
    # The receiving side sees it (the whole history); the sender does not any more.
    assert Conversation.objects.filter(pk=convo.pk).filter(
        pk__in=_visible(hotel["chen_scope"])).exists()
    assert not _visible(hotel["lily_scope"]).filter(pk=convo.pk).exists()


def _visible(scope):
    from messaging.selectors import conversation_queryset

    return conversation_queryset(scope=scope)


def test_an_account_transfer_without_a_team_waits_in_the_accounts_queue(hotel) -> None:
    transfer = transfers.transfer_create(
        scope=hotel["lily_scope"], conversation=hotel["convo"], to_account=hotel["a2"],
        path="relay", note="Spa booking", by=hotel["lily"])
    assert _place(hotel["convo"]) == (hotel["a2"].pk, None, None)
    assert transfer.to_team is None
    line = Message.objects.get(conversation=hotel["convo"], direction="system")
    assert line.content == "→ A property\nSpa booking"
    # The account's own agents see it there.
    assert _visible(hotel["chen_scope"]).filter(pk=hotel["convo"].pk).exists()


def test_an_account_transfer_to_one_of_its_agents(hotel) -> None:
    transfer = _relay(hotel, to_agent=hotel["chen"])
    assert _place(hotel["convo"]) == (hotel["a2"].pk, None, hotel["chen"].pk)
    assert transfer.to_agent == hotel["chen"]


def test_an_account_transfer_to_a_team_that_does_not_serve_it_is_refused(hotel) -> None:
    with pytest.raises(InvalidInput):
        _relay(hotel, to_team=hotel["team_a"])  # team A answers for a1 only
    assert _place(hotel["convo"]) == (hotel["a1"].pk, hotel["team_a"].pk, hotel["lily"].pk)


def test_a_transfer_to_an_agent_makes_them_the_assignee(hotel, announced) -> None:
    rosa = _agent(hotel["brand_a"], name="Rosa", teams=[hotel["team_a"]], accounts=[hotel["a1"]])
    transfer = transfers.transfer_create(
        scope=hotel["lily_scope"], conversation=hotel["convo"], to_agent=rosa,
        note="Speaks Cantonese", by=hotel["lily"])
    assert (transfer.kind, transfer.path, transfer.status) == ("agent", "", "pending")
    assert _place(hotel["convo"]) == (hotel["a1"].pk, hotel["team_a"].pk, rosa.pk)
    line = Message.objects.get(conversation=hotel["convo"], direction="system")
    assert line.content == "→ Rosa · A team · A flagship\nSpeaks Cantonese"
    assert [n for n, _p in _changes(announced)] == ["conversation.transferred"]


def test_a_full_agent_is_refused_with_a_sentence(hotel) -> None:
    rosa = _agent(hotel["brand_a"], name="Rosa", accounts=[hotel["a1"]], capacity=1)
    make_conversation(account=hotel["a1"], assignee=rosa)
    with pytest.raises(Conflict, match="Rosa is full"):
        transfers.transfer_create(scope=hotel["lily_scope"], conversation=hotel["convo"],
                                  to_agent=rosa, note="please", by=hotel["lily"])
    assert _place(hotel["convo"])[2] == hotel["lily"].pk
    assert not Transfer.objects.exists()


def test_an_agent_who_may_not_hold_it_there_is_refused(hotel) -> None:
    # Chen serves a2 and the concierge team: not the flagship's team A conversation.
    with pytest.raises(Conflict, match="cannot hold"):
        transfers.transfer_create(scope=hotel["lily_scope"], conversation=hotel["convo"],
                                  to_agent=hotel["chen"], note="please", by=hotel["lily"])


def test_a_transfer_to_a_team_waits_unassigned_in_its_queue(hotel) -> None:
    night = make_team(brand=hotel["brand_a"], name="Night desk", accounts=[hotel["a1"]])
    transfer = transfers.transfer_create(
        scope=hotel["lily_scope"], conversation=hotel["convo"], to_team=night,
        note="After 22:00", by=hotel["lily"])
    assert transfer.kind == "team" and transfer.to_team == night
    assert _place(hotel["convo"]) == (hotel["a1"].pk, night.pk, None)


def test_a_note_is_required(hotel) -> None:
    with pytest.raises(InvalidInput, match="needs a note") as caught:
        _relay(hotel, note="   ")
    assert "note" in caught.value.fields
    assert _place(hotel["convo"]) == (hotel["a1"].pk, hotel["team_a"].pk, hotel["lily"].pk)


def test_transfers_that_would_move_nothing_or_nowhere_are_refused(hotel) -> None:
    scope, convo = hotel["lily_scope"], hotel["convo"]
    with pytest.raises(InvalidInput):
        transfers.transfer_create(scope=scope, conversation=convo, note="x", by=None)
    with pytest.raises(Conflict):
        transfers.transfer_create(scope=scope, conversation=convo, to_team=hotel["team_a"],
                                  note="x", by=None)
    with pytest.raises(InvalidInput):
        transfers.transfer_create(scope=scope, conversation=convo, to_account=hotel["a2"],
                                  path="teleport", note="x", by=None)
    services.conversation_resolve(scope=scope, conversation=convo)
    with pytest.raises(Conflict):
        _relay(hotel)
    assert not Message.objects.filter(conversation=convo, direction="system").exists()
    assert not Transfer.objects.exists()


def test_no_transfer_to_another_brands_account_team_or_agent(hotel) -> None:
    foreign_agent = make_member(brand=hotel["brand_b"], accounts=[hotel["b1"]])
    for target in ({"to_account": hotel["b1"]}, {"to_team": hotel["team_b"]},
                   {"to_agent": foreign_agent}):
        with pytest.raises(NotInScope):
            transfers.transfer_create(scope=hotel["lily_scope"], conversation=hotel["convo"],
                                      note="x", by=hotel["lily"], **target)
    # Nor can brand B's admin hand brand A's conversation anywhere.
    with pytest.raises(NotInScope):
        transfers.transfer_create(scope=scope_for_membership(hotel["admin_b"]),
                                  conversation=hotel["convo"], to_team=hotel["team_b"],
                                  note="x", by=hotel["admin_b"])
    assert not Transfer.objects.exists()


def test_continue_and_invite_are_handed_to_the_account_paths(hotel, monkeypatch) -> None:
    from routing import account_paths

    done: list[tuple[int, str]] = []
    monkeypatch.setattr(account_paths, "carry_out", lambda t: done.append((t.pk, t.path)))
    transfer = _relay(hotel, path="continue")
    assert done == [(transfer.pk, "continue")]
    assert Transfer.objects.get(pk=transfer.pk).status == "pending"
    # Nothing moved here: moving is the path's own work.
    assert _place(hotel["convo"]) == (hotel["a1"].pk, hotel["team_a"].pk, hotel["lily"].pk)


def test_without_a_path_the_account_paths_pick_the_default(hotel, monkeypatch) -> None:
    from routing import account_paths

    asked: list[int] = []

    def default_path(conversation, to_account) -> str:
        asked.append(to_account.pk)
        return "relay"

    monkeypatch.setattr(account_paths, "default_path", default_path)
    transfer = transfers.transfer_create(scope=hotel["lily_scope"], conversation=hotel["convo"],
                                         to_account=hotel["a2"], note="x", by=hotel["lily"])
    assert asked == [hotel["a2"].pk] and transfer.path == "relay"


def test_a_new_transfer_cancels_the_one_still_waiting(hotel) -> None:
    first = _relay(hotel)
    second = transfers.transfer_create(
        scope=scope_for_membership(hotel["admin_a"]), conversation=hotel["convo"],
        to_team=hotel["team_a"], note="back to the flagship", by=hotel["admin_a"])
    first.refresh_from_db()
    assert (first.status, second.status) == ("cancelled", "pending")


# -- accept and decline -----------------------------------------------------------------


def test_a_member_of_the_receiving_side_accepts(hotel, announced) -> None:
    transfer = _relay(hotel)
    announced.clear()
    transfers.transfer_accept(scope=hotel["chen_scope"], transfer=transfer)
    transfer.refresh_from_db()
    assert (transfer.status, transfer.decided_by) == ("accepted", hotel["chen"])
    assert transfer.decided_at is not None
    assert _place(hotel["convo"]) == (hotel["a2"].pk, hotel["concierge"].pk, hotel["chen"].pk)
    ((name, change),) = _changes(announced)
    assert name == "conversation.assigned" and change["assignee_id"] == hotel["chen"].pk
    steps = [d.steps[0]["step"] for d in RoutingDecision.objects.filter(
        conversation=hotel["convo"])]
    assert steps == ["transfer", "accepted"]
    assert Message.objects.filter(conversation=hotel["convo"], direction="system",
                                  content="✓ Chen").exists()
    with pytest.raises(Conflict):  # answered once
        transfers.transfer_decline(scope=hotel["chen_scope"], transfer=transfer)


def test_only_the_receiving_side_answers(hotel) -> None:
    transfer = _relay(hotel)
    outsider = _agent(hotel["brand_a"], name="Otto", accounts=[hotel["a1"]])
    for scope in (scope_for_membership(outsider), hotel["lily_scope"]):
        with pytest.raises((RoleRequired, NotInScope)):
            transfers.transfer_accept(scope=scope, transfer=transfer)
    rosa = _agent(hotel["brand_a"], name="Rosa", accounts=[hotel["a2"]])
    named = transfers.transfer_create(
        scope=hotel["chen_scope"], conversation=hotel["convo"], to_agent=rosa,
        note="for you", by=hotel["chen"])
    with pytest.raises(RoleRequired):
        transfers.transfer_accept(scope=hotel["chen_scope"], transfer=named)
    transfers.transfer_accept(scope=scope_for_membership(rosa), transfer=named)
    assert Transfer.objects.get(pk=named.pk).status == "accepted"


def test_a_full_receiver_cannot_accept(hotel) -> None:
    transfer = _relay(hotel)
    Membership.objects.filter(pk=hotel["chen"].pk).update(capacity=1)
    make_conversation(account=hotel["a2"], assignee=hotel["chen"])
    with pytest.raises(Conflict, match="full"):
        transfers.transfer_accept(scope=scope_for_membership(
            Membership.objects.get(pk=hotel["chen"].pk)), transfer=transfer)
    assert Transfer.objects.get(pk=transfer.pk).status == "pending"


def test_a_decline_sends_it_back_and_tells_the_sender(hotel, announced) -> None:
    transfer = _relay(hotel)
    announced.clear()
    transfers.transfer_decline(scope=hotel["chen_scope"], transfer=transfer,
                               reason="No car tonight")
    transfer.refresh_from_db()
    assert (transfer.status, transfer.decline_reason, transfer.decided_by) == (
        "declined", "No car tonight", hotel["chen"])
    assert _place(hotel["convo"]) == (hotel["a1"].pk, hotel["team_a"].pk, hotel["lily"].pk)
    ((name, change),) = _changes(announced)
    assert name == "conversation.transferred"
    assert change["assignee_id"] == hotel["lily"].pk
    assert change["previous_handling_account_id"] == hotel["a2"].pk
    assert change["previous_team_id"] == hotel["concierge"].pk
    line = Message.objects.filter(conversation=hotel["convo"], direction="system").last()
    assert line.content == "↩ Lily · A team · A flagship\nNo car tonight"


def test_the_sender_and_receiver_read_it_the_receiver_sees_it_waiting(hotel) -> None:
    transfer = _relay(hotel)
    assert [t.pk for t in transfers.transfers_incoming(scope=hotel["chen_scope"])] == [
        transfer.pk]
    assert transfers.transfers_incoming(scope=hotel["lily_scope"]) == []
    # The sender keeps sight of their hand-over though not of the conversation.
    assert transfers.transfer_list(scope=hotel["lily_scope"]).filter(pk=transfer.pk).exists()
    assert not transfers.transfer_list(
        scope=scope_for_membership(hotel["admin_b"])).filter(pk=transfer.pk).exists()


# -- the answer time ---------------------------------------------------------------------


def _later(transfer: Transfer) -> timezone.datetime:
    return transfer.expires_at + timedelta(seconds=1)


def test_unanswered_goes_back_to_the_sender(hotel, announced) -> None:
    transfer = _relay(hotel)
    assert transfers.transfers_expire(now=transfer.expires_at - timedelta(seconds=1)) == 0
    announced.clear()
    assert transfers.transfers_expire(now=_later(transfer)) == 1
    transfer.refresh_from_db()
    assert transfer.status == "expired"
    assert _place(hotel["convo"]) == (hotel["a1"].pk, hotel["team_a"].pk, hotel["lily"].pk)
    assert [n for n, _p in _changes(announced)] == ["conversation.transferred"]
    decision = RoutingDecision.objects.filter(conversation=hotel["convo"]).last()
    assert decision.steps[0]["step"] == "expired" and decision.steps[0]["to"] == "sender"
    assert transfers.transfers_expire(now=_later(transfer)) == 0


def test_unanswered_stays_in_the_receiving_queue_and_is_drained(
    hotel, django_capture_on_commit_callbacks
) -> None:
    settings = settings_for(hotel["brand_a"].pk)
    settings.transfer_timeout_to = "queue"
    settings.save()
    Membership.objects.filter(pk=hotel["chen"].pk).update(presence="offline")
    transfer = _relay(hotel)
    rosa = _agent(hotel["brand_a"], name="Rosa", accounts=[hotel["a2"]],
                  teams=[hotel["concierge"]])
    with django_capture_on_commit_callbacks(execute=True):
        assert transfers.transfers_expire(now=_later(transfer)) == 1
    assert Transfer.objects.get(pk=transfer.pk).status == "expired"
    # Still in the concierge queue, and the drain gave it to the free member there.
    assert _place(hotel["convo"]) == (hotel["a2"].pk, hotel["concierge"].pk, rosa.pk)


def test_an_agent_transfer_unanswered_into_the_queue_is_let_go(hotel, announced) -> None:
    settings = settings_for(hotel["brand_a"].pk)
    settings.transfer_timeout_to = "queue"
    settings.save()
    rosa = _agent(hotel["brand_a"], name="Rosa", accounts=[hotel["a1"]], online=False)
    transfer = transfers.transfer_create(scope=hotel["lily_scope"], conversation=hotel["convo"],
                                         to_agent=rosa, note="x", by=hotel["lily"])
    announced.clear()
    transfers.transfers_expire(now=_later(transfer))
    assert _place(hotel["convo"]) == (hotel["a1"].pk, hotel["team_a"].pk, None)
    ((name, change),) = _changes(announced)
    assert name == "conversation.transferred" and change["previous_assignee_id"] == rosa.pk


def test_taken_up_counts_as_accepted(hotel) -> None:
    transfer = _relay(hotel)
    rosa = _agent(hotel["brand_a"], name="Rosa", accounts=[hotel["a2"]],
                  teams=[hotel["concierge"]])
    Conversation.objects.filter(pk=hotel["convo"].pk).update(assignee=rosa)
    assert transfers.transfers_incoming(scope=hotel["chen_scope"]) == []
    with pytest.raises(Conflict, match="Rosa has taken"):
        transfers.transfer_accept(scope=hotel["chen_scope"], transfer=transfer)
    assert transfers.transfers_expire(now=_later(transfer)) == 1
    transfer.refresh_from_db()
    assert (transfer.status, transfer.decided_by) == ("accepted", rosa)
    assert _place(hotel["convo"])[2] == rosa.pk


def test_the_sweep_task_runs_the_sweep(hotel, monkeypatch) -> None:
    from routing.tasks_transfers import transfers_expire_task

    transfer = _relay(hotel)
    monkeypatch.setattr(timezone, "now", lambda: _later(transfer))
    assert transfers_expire_task() == 1


# -- hand to a speaker -------------------------------------------------------------------


def test_hand_to_a_speaker_in_the_local_team(hotel) -> None:
    _agent(hotel["brand_a"], name="Mei", teams=[hotel["team_a"]], accounts=[hotel["a1"]],
           languages=["zh-hant"], online=False)
    wing = _agent(hotel["brand_a"], name="Wing", teams=[hotel["team_a"]],
                  accounts=[hotel["a1"]], languages=["zh-hant", "en"])
    _agent(hotel["brand_a"], name="Bob", teams=[hotel["team_a"]], accounts=[hotel["a1"]],
           languages=["en"])
    transfer = transfers.transfer_to_speaker(scope=hotel["lily_scope"],
                                             conversation=hotel["convo"], language="zh-hant",
                                             note="", by=hotel["lily"])
    assert transfer.to_agent == wing and transfer.note == "Needs a Traditional Chinese speaker."
    assert _place(hotel["convo"]) == (hotel["a1"].pk, hotel["team_a"].pk, wing.pk)


def test_hand_to_a_speaker_falls_back_to_a_central_team(hotel) -> None:
    central = make_team(brand=hotel["brand_a"], name="Central care")
    central.is_central, central.languages = True, ["en", "zh-hans"]
    central.save()
    _agent(hotel["brand_a"], name="Ann", teams=[central], languages=["en"])
    transfer = transfers.transfer_to_speaker(scope=hotel["lily_scope"],
                                             conversation=hotel["convo"], language="en",
                                             note="Wants English", by=hotel["lily"])
    assert transfer.kind == "team" and transfer.to_team == central
    assert _place(hotel["convo"]) == (hotel["a1"].pk, central.pk, None)


def test_hand_to_a_speaker_says_when_nobody_can(hotel) -> None:
    with pytest.raises(Conflict, match="Nobody who speaks Simplified Chinese"):
        transfers.transfer_to_speaker(scope=hotel["lily_scope"], conversation=hotel["convo"],
                                      language="zh-hans", note="", by=hotel["lily"])
    with pytest.raises(InvalidInput):
        transfers.transfer_to_speaker(scope=hotel["lily_scope"], conversation=hotel["convo"],
                                      language="fr", note="", by=hotel["lily"])
    assert not Transfer.objects.exists()


# -- telling the screens -----------------------------------------------------------------


def test_the_sender_hears_when_their_transfer_is_answered(hotel, monkeypatch) -> None:
    from routing import realtime
    from routing.tasks_transfers import transfer_push_task

    sent: list[tuple[int, list]] = []
    monkeypatch.setattr(realtime, "send", lambda brand_id, parts: sent.append((brand_id, parts)))
    transfer = transfers.transfer_create(
        scope=scope_for_membership(hotel["admin_a"]), conversation=hotel["convo"],
        to_account=hotel["a2"], path="relay", note="Pick-up", by=hotel["admin_a"])
    # While it waits, nobody is told by this push: the receiving side gets the
    # conversation's own change (routing.realtime), the sender knows.
    assert transfer_push_task(transfer.pk) == 0 and sent == []
    transfers.transfer_accept(scope=hotel["chen_scope"], transfer=transfer)
    assert transfer_push_task(transfer.pk) == 2
    ((brand_id, (part,)),) = sent
    assert brand_id == hotel["brand_a"].pk
    # The sender and the agent who held it; not the receiver, nobody of brand B.
    assert part["to"] == sorted([hotel["admin_a"].pk, hotel["lily"].pk])
    assert part["payload"] == {"type": "transfer", "transfer_id": transfer.pk,
                               "conversation_id": hotel["convo"].pk, "status": "accepted",
                               "at": part["payload"]["at"]}


def test_the_push_is_queued_after_an_answer_commits(
    hotel, django_capture_on_commit_callbacks, monkeypatch
) -> None:
    from routing import tasks_transfers

    queued: list[int] = []
    monkeypatch.setattr(tasks_transfers.transfer_push_task, "delay", queued.append)
    with django_capture_on_commit_callbacks(execute=True):
        transfer = _relay(hotel)
    assert queued == []
    with django_capture_on_commit_callbacks(execute=True):
        transfers.transfer_decline(scope=hotel["chen_scope"], transfer=transfer)
    assert queued == [transfer.pk]


@pytest.mark.django_db(transaction=True)
def test_two_members_accepting_at_once_one_wins(two_brands) -> None:
    import threading

    from django.db import connection

    brand = two_brands["brand_a"]
    concierge = make_team(brand=brand, name="Concierge", accounts=[two_brands["a2"]])
    members = [_agent(brand, name=name, accounts=[two_brands["a2"]], teams=[concierge])
               for name in ("Chen", "Rosa")]
    transfer = transfers.transfer_create(
        scope=scope_for_membership(two_brands["admin_a"]),
        conversation=two_brands["conversation_a"], to_account=two_brands["a2"],
        to_team=concierge, path="relay", note="Pick-up", by=two_brands["admin_a"])
    barrier = threading.Barrier(len(members))
    outcomes: list[str] = []

    def accept(member: Membership) -> None:
        try:
            scope = scope_for_membership(member)
            barrier.wait(timeout=10)
            transfers.transfer_accept(scope=scope, transfer=transfer)
            outcomes.append("accepted")
        except Conflict:
            outcomes.append("conflict")
        finally:
            connection.close()

    threads = [threading.Thread(target=accept, args=(m,)) for m in members]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert sorted(outcomes) == ["accepted", "conflict"]
    transfer.refresh_from_db()
    convo = Conversation.objects.get(pk=two_brands["conversation_a"].pk)
    assert transfer.status == "accepted" and convo.assignee_id == transfer.decided_by_id
