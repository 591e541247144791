"""The inbound sweep drains a backlog as fast as the workers take it: in one run it queues
every batch that is due (up to a ceiling of rows waiting for the workers), claiming each
row so that two sweeps never queue it twice, and gives the rows back when the broker is
away. (On PostgreSQL with a real worker, the drain rate: ``test_inbound_drain_real``.)"""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone
from kombu.exceptions import OperationalError

from accounts.models import OfficialAccount
from messaging import tasks
from messaging.models import Inbound
from messaging.processing import (
    MAX_ATTEMPTS,
    SWEEP_BATCH,
    inbound_claim_due,
    inbound_defer,
    inbound_finish_plain,
    inbound_process,
)
from messaging.tasks import inbound_process_batch_task, inbound_sweep_task
from tests.factories import make_account, make_brand, make_follower
from tests.messaging.sweep_support import backlog, unprocessed

pytestmark = pytest.mark.django_db


@pytest.fixture
def account():
    return make_account(brand=make_brand())


@pytest.fixture
def published(monkeypatch) -> list[list[int]]:
    """The batches the sweep queues, recorded instead of run."""
    batches: list[list[int]] = []
    monkeypatch.setattr(inbound_process_batch_task, "apply_async",
                        lambda args, **options: batches.append(list(args[0])))
    return batches


def test_one_sweep_queues_a_backlog_of_many_batches_and_it_is_all_processed(account) -> None:
    ids = backlog(account, 2 * SWEEP_BATCH + 201)
    fresh = backlog(account, 3, minutes_ago=0)  # not due yet: their tasks may be on the way

    # Tasks run in-process here: each batch is processed as it is queued.
    assert inbound_sweep_task() == len(ids)
    assert unprocessed(ids) == 0
    assert unprocessed(fresh) == 3
    assert inbound_sweep_task() == 0


def test_two_sweeps_never_claim_the_same_row_until_it_is_overdue(account) -> None:
    ids = backlog(account, 30)
    first = inbound_claim_due(limit=20)
    second = inbound_claim_due(limit=20)
    assert first == ids[:20] and second == ids[20:]
    assert inbound_claim_due(limit=20) == []
    # A claimed row still unprocessed long after it was queued lost its task as well.
    Inbound.objects.filter(pk__in=first).update(
        sweep_after=timezone.now() - timedelta(seconds=1))
    assert inbound_claim_due(limit=50) == first


def test_the_sweep_stops_at_the_ceiling_of_rows_waiting_for_the_workers(
    account, published: list[list[int]], monkeypatch
) -> None:
    monkeypatch.setattr(tasks, "SWEEP_IN_FLIGHT", SWEEP_BATCH + 200)
    ids = backlog(account, 2 * SWEEP_BATCH + 100)

    assert inbound_sweep_task() == SWEEP_BATCH + 200
    assert [len(batch) for batch in published] == [SWEEP_BATCH, 200]
    assert [i for batch in published for i in batch] == ids[:SWEEP_BATCH + 200]
    # Nothing processed them yet: the next sweep waits for the workers.
    assert inbound_sweep_task() == 0
    # They catch up: the sweep tops the queue up with the rest.
    Inbound.objects.filter(pk__in=ids[:SWEEP_BATCH]).update(processed_at=timezone.now())
    assert inbound_sweep_task() == 400
    assert [i for batch in published[2:] for i in batch] == ids[SWEEP_BATCH + 200:]


def test_with_the_broker_away_the_sweep_gives_its_rows_back_for_the_next(
    account, monkeypatch
) -> None:
    ids = backlog(account, 10)

    def refused(*args: object, **options: object) -> None:
        raise OperationalError("Error 111 connecting to 127.0.0.1:6379. Connection refused.")

    monkeypatch.setattr(inbound_process_batch_task, "apply_async", refused)
    assert inbound_sweep_task() == 0
    assert Inbound.objects.filter(pk__in=ids, sweep_after__isnull=False).count() == 0
    monkeypatch.undo()
    assert inbound_sweep_task() == 10
    assert unprocessed(ids) == 0


def test_a_batch_still_going_after_its_budget_hands_the_rest_on(
    account, published: list[list[int]], monkeypatch
) -> None:
    ids = backlog(account, 5)
    # Rows that each need the platform (none here does: pretend they all do).
    monkeypatch.setattr(tasks, "inbound_finish_plain", lambda inbound_ids: (0, inbound_ids))
    # The clock passes the budget after the second row.
    clock = iter([0.0, 1.0, 2.0, 99.0, 99.0, 99.0])
    monkeypatch.setattr(tasks.time, "monotonic", lambda: next(clock))
    monkeypatch.setattr(tasks, "INBOUND_BATCH_BUDGET", 50.0)

    outcomes = inbound_process_batch_task.run(ids)
    assert outcomes == {"done": 2, "handed_on": 3}
    assert published == [ids[2:]]
    assert unprocessed(ids) == 3


def test_a_row_waiting_for_its_retry_is_left_to_it(account) -> None:
    waiting, lost = backlog(account, 2)
    inbound_defer(inbound_id=waiting, seconds=20)
    assert inbound_claim_due() == [lost]


def test_a_row_that_failed_too_often_is_neither_swept_nor_processed_again(account) -> None:
    (given_up,) = backlog(account, 1)
    Inbound.objects.filter(pk=given_up).update(attempts=MAX_ATTEMPTS)
    assert inbound_claim_due() == []
    assert inbound_process(inbound_id=given_up) == "given_up"
    row = Inbound.objects.get(pk=given_up)
    assert (row.processed_at, row.attempts) == (None, MAX_ATTEMPTS)


def test_rows_needing_no_platform_call_are_finished_together_and_the_rest_left_in_order(
    account,
) -> None:
    plain_text, image, stranger, processed = backlog(account, 4)
    Inbound.objects.filter(pk=image).update(msg_type="image")
    newcomer = make_follower(account=account)  # its profile was never fetched
    Inbound.objects.filter(pk=stranger).update(openid=newcomer.openid, msg_type="event",
                                               event="subscribe")
    Inbound.objects.filter(pk=processed).update(processed_at=timezone.now())
    off = make_account(brand=account.brand)
    OfficialAccount.objects.filter(pk=off.pk).update(disconnected_at=timezone.now())
    (on_disconnected,) = backlog(off, 1)
    Inbound.objects.filter(pk=on_disconnected).update(msg_type="image")

    order = [stranger, plain_text, processed, on_disconnected, image]
    finished, rest = inbound_finish_plain(inbound_ids=order)
    assert finished == 2
    assert rest == [stranger, image]  # the profile to fetch, the media to fetch
    done = set(Inbound.objects.filter(processed_at__isnull=False).values_list("pk", flat=True))
    assert done == {plain_text, processed, on_disconnected}
    assert Inbound.objects.get(pk=plain_text).attempts == 1
    assert Inbound.objects.get(pk=image).attempts == 0
