"""Celery tasks of messaging.

Inbound: ``inbound_process_batch_task`` does the slow part of accepted deliveries
(profile, media), a batch at a time (``task_batches``); ``inbound_process_task`` retries
one that met a transient failure; ``inbound_sweep_task`` (beat, every 15 s) queues rows
left unprocessed, so a lost task or a broker outage loses nothing, and drains a backlog as
fast as the workers take it.

Outbound: ``message_send_task`` makes one attempt at a stored reply; after transient
trouble the reply waits in the database for its next attempt (``messaging.services``'s
schedule), which ``message_send_sweep_task`` (beat, every 15 s) queues when due, along
with replies whose task was lost; it also fails those a dead worker left in `sending`.

What is transient is decided by the retry table of ``wechat.client.retry``.

Every task may run twice (a worker that died before acknowledging it, the sweeps): each is
idempotent by its claim (a conditional update) and takes ids, never state. And none waits
in the broker longer than its visibility timeout (``CELERY_VISIBILITY_TIMEOUT``, 50 s),
after which the Redis transport hands a waiting task out again: countdowns here stay
under ``LONGEST_COUNTDOWN``, longer waits are kept in the database, and each task's work
is bounded well below it (``INBOUND_BATCH_BUDGET``, ``SWEEP_BUDGET``).
"""

from __future__ import annotations

import logging
import time

from celery import shared_task
from celery.utils.time import get_exponential_backoff_interval
from kombu.exceptions import OperationalError as BrokerError

from messaging.processing import (
    SWEEP_BATCH,
    inbound_claim_due,
    inbound_defer,
    inbound_finish_plain,
    inbound_in_flight,
    inbound_process,
    inbound_sweep_position,
    inbound_unclaim,
    transient,
)
from messaging.task_batches import batch_submit
from wechat.errors import WeChatException

logger = logging.getLogger(__name__)

# The longest a task of this module waits in the broker (a countdown), and the longest
# each spends working before it hands the rest on. Both stay well under the visibility
# timeout, which tests/messaging/test_worker_drills.py checks.
LONGEST_COUNTDOWN = 30
INBOUND_BATCH_BUDGET = 20.0
SWEEP_BUDGET = 10.0

# --- inbound ----------------------------------------------------------------------------

INBOUND_MAX_RETRIES = 8
# Celery's exponential backoff with full jitter: up to 5 s, 10 s, 20 s, then 30 s, about
# three minutes in all; after that the sweep takes the row again.
INBOUND_BACKOFF = 5
INBOUND_BACKOFF_MAX = LONGEST_COUNTDOWN
# Rows the sweep keeps queued and unprocessed at most: enough to keep the workers busy
# between two sweeps (15 s apart: up to 2,000 rows/s, four times what ingestion takes in),
# few enough that they are processed before the sweep would take them for lost
# (``SWEEP_AGAIN_AFTER``, 3 minutes, is 90 s of work at 333 rows/s; a row taken twice
# costs the second task one query).
SWEEP_IN_FLIGHT = 30_000


def _inbound_backoff(retries: int) -> int:
    return get_exponential_backoff_interval(
        factor=INBOUND_BACKOFF, retries=retries, maximum=INBOUND_BACKOFF_MAX, full_jitter=True
    )


@shared_task(bind=True, acks_late=True, max_retries=INBOUND_MAX_RETRIES)
def inbound_process_task(self, inbound_id: int) -> str:  # noqa: ANN001
    """Process one delivery that met a transient failure in its batch, with retries.
    Answers what ``inbound_process`` does, or ``deferred`` once the retries are spent: the
    row stays unprocessed and the inbound sweep queues it again."""
    try:
        return inbound_process(inbound_id=inbound_id)
    except WeChatException as exc:
        if not transient(exc):
            raise
        logger.warning(
            "inbound processing failed, will retry",
            extra={"inbound_id": inbound_id, "error": str(exc), "retries": self.request.retries},
        )
        if self.request.retries >= self.max_retries:
            return "deferred"
        countdown = _inbound_backoff(self.request.retries + 1)
        inbound_defer(inbound_id=inbound_id, seconds=countdown)
        raise self.retry(countdown=countdown) from exc


@shared_task(acks_late=True)
def inbound_process_batch_task(inbound_ids: list[int]) -> dict[str, int]:
    """Process a batch of accepted deliveries (``task_batches``, the sweep); answers a count
    per outcome. Rows that need no platform call are finished together first. A delivery
    the platform cannot serve now gets a task of its own, with retries and backoff; one
    failing row never holds up the others. A batch still going
    after ``INBOUND_BATCH_BUDGET`` seconds (a slow platform) queues the rest as a new
    task, so no task outlasts the broker's visibility timeout."""
    deadline = time.monotonic() + INBOUND_BATCH_BUDGET
    finished, inbound_ids = inbound_finish_plain(inbound_ids=inbound_ids)
    outcomes: dict[str, int] = {"done": finished} if finished else {}
    for index, inbound_id in enumerate(inbound_ids):
        if time.monotonic() > deadline:
            rest = inbound_ids[index:]
            outcomes["handed_on"] = len(rest)
            _hand_on(rest)
            break
        try:
            outcome = inbound_process(inbound_id=inbound_id)
        except WeChatException as exc:
            if not transient(exc):
                logger.exception("inbound processing failed", extra={"inbound_id": inbound_id})
                outcome = "error"
            else:
                logger.warning("inbound processing failed, will retry",
                               extra={"inbound_id": inbound_id, "error": str(exc)})
                _retry_alone(inbound_id)
                outcome = "deferred"
        except Exception:
            logger.exception("inbound processing failed", extra={"inbound_id": inbound_id})
            outcome = "error"
        outcomes[outcome] = outcomes.get(outcome, 0) + 1
    return outcomes


def _hand_on(inbound_ids: list[int]) -> None:
    try:
        inbound_process_batch_task.apply_async((inbound_ids,), retry=False)
    except (BrokerError, OSError):
        logger.warning("could not queue the rest of a batch; the sweep will",
                       extra={"count": len(inbound_ids)})
        inbound_unclaim(inbound_ids=inbound_ids)


def _retry_alone(inbound_id: int) -> None:
    # The first retry waits as the task's own first retry would.
    countdown = _inbound_backoff(0)
    try:
        inbound_process_task.apply_async((inbound_id,), countdown=countdown, retry=False)
    except (BrokerError, OSError):
        logger.warning("could not queue a retry; the sweep will",
                       extra={"inbound_id": inbound_id})
        return
    inbound_defer(inbound_id=inbound_id, seconds=countdown)


def inbound_enqueue(inbound_id: int) -> None:
    """Queue the processing of one row; called on commit. Batched per process
    (``task_batches``) and never raises: the row is stored, and the sweep queues it again
    if the broker is away."""
    batch_submit(inbound_process_batch_task, inbound_id)


@shared_task
def inbound_sweep_task() -> int:
    """Beat, every 15 s: queue the rows nobody finished, ``SWEEP_BATCH`` to a task, until
    none is left, ``SWEEP_IN_FLIGHT`` rows wait for the workers, or ``SWEEP_BUDGET``
    seconds are spent. Each row is claimed as it is queued, so two sweeps never queue one
    twice, and a backlog drains as fast as the workers process it (the next sweep tops
    the queue up), not a batch a minute. Answers how many rows were queued (0 while the
    broker is away: the next sweep tries again)."""
    room = SWEEP_IN_FLIGHT - inbound_in_flight()
    deadline = time.monotonic() + SWEEP_BUDGET
    queued, after = 0, None
    while room > 0 and time.monotonic() < deadline:
        due = inbound_claim_due(limit=min(SWEEP_BATCH, room), after=after)
        if not due:
            break
        try:
            inbound_process_batch_task.apply_async((due,), retry=False)
        except (BrokerError, OSError) as exc:
            inbound_unclaim(inbound_ids=due)
            logger.warning("could not queue the inbound backlog",
                           extra={"count": len(due), "error": str(exc)})
            break
        queued += len(due)
        room -= len(due)
        after = inbound_sweep_position(due[-1])
    if queued:
        logger.info("inbound sweep queued rows", extra={"count": queued})
    return queued


# --- outbound ---------------------------------------------------------------------------

# A reply queued and untouched for this long lost its task (a broker outage when it was
# queued, a worker killed before its claim): queue it again. A reply waiting for a retry
# has its own time (`next_attempt_at`) and is not counted as lost meanwhile.
SEND_SWEEP_AFTER_SECONDS = 90
# A reply claimed this long ago and still `sending` belonged to a worker that died mid-send
# (an attempt, the client's own retries and timeouts included, lasts a couple of minutes
# at most). WeChat may have delivered it, so it is marked failed, never sent again.
SEND_STUCK_AFTER_SECONDS = 300


@shared_task(acks_late=True)
def message_send_task(message_id: int) -> str:
    """Make one attempt at a queued reply through its channel account, and record the
    outcome.

    Answers ``sent``, ``failed``, ``retry`` (transient platform trouble: -1, 45011, a
    connection that never opened; the reply is queued again for its next attempt, which
    the send sweep queues when it is due), ``taken`` (another worker claimed it, it is no
    longer queued, or its retry is not due yet) or ``gone``. A send that may have reached
    the platform is never repeated (``message_deliver`` marks it failed).
    """
    from messaging.services import message_deliver

    return str(message_deliver(message_id=message_id))


def message_send_enqueue(message_id: int) -> bool:
    """Queue the send of one stored reply; called on commit. Never raises: the reply is
    stored as queued and ``message_send_sweep_task`` queues it again."""
    try:
        message_send_task.apply_async((message_id,), retry=False)
    except (BrokerError, OSError) as exc:
        logger.warning("could not queue a reply; the sweep will",
                       extra={"message_id": message_id, "error": str(exc)})
        return False
    return True


@shared_task
def message_send_sweep_task() -> dict[str, int]:
    """Beat, every 15 s: give up on replies stuck in `sending` (their worker died
    mid-send: marked failed, "may have been delivered"), and queue the replies that are
    due: a scheduled retry whose time has come, or a reply whose task was lost. Each is
    claimed as it is queued, so two sweeps never queue it twice, and the queued → sending
    claim makes any duplicate task harmless. Answers how many of each."""
    from messaging.services import messages_claim_due, messages_fail_stuck

    failed = messages_fail_stuck(older_than_seconds=SEND_STUCK_AFTER_SECONDS)
    queued = 0
    for message_id in messages_claim_due(lost_after_seconds=SEND_SWEEP_AFTER_SECONDS):
        # With the broker away, this and the rest stay queued and touched: the sweep takes
        # them for lost after SEND_SWEEP_AFTER_SECONDS.
        if not message_send_enqueue(message_id):
            break
        queued += 1
    return {"failed": failed, "queued": queued}


@shared_task
def conversations_wake_task() -> int:
    """Beat: reopen snoozed conversations whose time has come."""
    from messaging.services import conversations_wake_snoozed

    return conversations_wake_snoozed()
