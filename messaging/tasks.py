"""Celery tasks of messaging.

Inbound: ``inbound_process_batch_task`` does the slow part of accepted deliveries
(profile, media), a batch at a time (``task_batches``); ``inbound_process_task`` retries
one that met a transient failure; ``inbound_sweep_task`` (beat, every minute) re-queues
rows left unprocessed, so a lost task or a broker outage loses nothing.

Outbound: ``message_send_task`` sends one stored reply; ``message_send_sweep_task`` (beat,
every minute) re-queues replies whose task was lost and fails those a dead worker left in
`sending`.

What is transient is decided by the retry table of ``wechat.client.retry``; the retries
themselves are Celery's (``autoretry_for``, exponential backoff with full jitter, a cap).
"""

from __future__ import annotations

import logging

from celery import shared_task
from celery.utils.time import get_exponential_backoff_interval
from kombu.exceptions import OperationalError as BrokerError

from messaging.processing import inbound_due_ids, inbound_process, transient
from messaging.task_batches import batch_submit
from wechat.errors import WeChatException

logger = logging.getLogger(__name__)

# --- inbound ----------------------------------------------------------------------------

INBOUND_MAX_RETRIES = 8
# Celery's exponential backoff with full jitter: up to 5 s, 10 s, 20 s... capped at ten
# minutes.
INBOUND_BACKOFF = 5
INBOUND_BACKOFF_MAX = 600


class InboundDeferred(Exception):
    """The platform could not serve a delivery now (a transient failure by the retry table
    of `wechat.client.retry`): Celery tries the task again after a backoff."""


@shared_task(bind=True, acks_late=True, autoretry_for=(InboundDeferred,),
             max_retries=INBOUND_MAX_RETRIES, retry_backoff=INBOUND_BACKOFF,
             retry_backoff_max=INBOUND_BACKOFF_MAX, retry_jitter=True)
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
        raise InboundDeferred(str(exc)) from exc


@shared_task(acks_late=True)
def inbound_process_batch_task(inbound_ids: list[int]) -> dict[str, int]:
    """Process a batch of accepted deliveries (``task_batches``); answers a count per
    outcome. A delivery the platform cannot serve now gets a task of its own, with retries
    and backoff; one failing row never holds up the others."""
    outcomes: dict[str, int] = {}
    for inbound_id in inbound_ids:
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


def _retry_alone(inbound_id: int) -> None:
    # The first retry waits as the task's own first retry would.
    countdown = get_exponential_backoff_interval(
        factor=INBOUND_BACKOFF, retries=0, maximum=INBOUND_BACKOFF_MAX, full_jitter=True
    )
    try:
        inbound_process_task.apply_async((inbound_id,), countdown=countdown, retry=False)
    except (BrokerError, OSError):
        logger.warning("could not queue a retry; the sweep will",
                       extra={"inbound_id": inbound_id})


def inbound_enqueue(inbound_id: int) -> None:
    """Queue the processing of one row; called on commit. Batched per process
    (``task_batches``) and never raises: the row is stored, and the sweep queues it again
    if the broker is away."""
    batch_submit(inbound_process_batch_task, inbound_id)


@shared_task
def inbound_sweep_task() -> int:
    """Re-queue rows nobody finished, in one task; returns how many were queued (0 while
    the broker is away: the next sweep tries again)."""
    due = inbound_due_ids()
    if not due:
        return 0
    try:
        inbound_process_batch_task.apply_async((due,), retry=False)
    except (BrokerError, OSError) as exc:
        logger.warning("could not queue the inbound backlog",
                       extra={"count": len(due), "error": str(exc)})
        return 0
    logger.info("inbound sweep re-queued rows", extra={"count": len(due)})
    return len(due)


# --- outbound ---------------------------------------------------------------------------

SEND_MAX_RETRIES = 5
# Celery's exponential backoff with full jitter: up to 2 s, 4 s, 8 s, 16 s, 32 s, so a -1
# burst does not bring every worker back at the same instant and a minute of trouble is
# ridden out. The cap bounds how long a retried reply waits in `queued`.
SEND_BACKOFF = 2
SEND_BACKOFF_MAX = 60
# A reply queued and untouched for this long lost its task (a broker outage when it was
# queued, a worker killed before its claim): queue it again. Longer than the longest
# countdown, so a reply waiting for its retry is left alone.
SEND_SWEEP_AFTER_SECONDS = 90
# A reply claimed this long ago and still `sending` belonged to a worker that died mid-send
# (an attempt, the client's own retries and timeouts included, lasts a couple of minutes
# at most). WeChat may have delivered it, so it is marked failed, never sent again.
SEND_STUCK_AFTER_SECONDS = 300


class SendAgain(Exception):
    """``message_deliver`` put the reply back in the queue (a transient failure: nothing
    reached the follower); Celery tries the task again after a backoff."""


@shared_task(bind=True, acks_late=True, autoretry_for=(SendAgain,),
             max_retries=SEND_MAX_RETRIES, retry_backoff=SEND_BACKOFF,
             retry_backoff_max=SEND_BACKOFF_MAX, retry_jitter=True)
def message_send_task(self, message_id: int) -> str:  # noqa: ANN001
    """Send one queued reply through its channel account and record the outcome.

    Answers ``sent``, ``failed``, ``taken`` (another worker claimed it, or it is no longer
    queued) or ``gone``. Transient platform trouble (-1, 45011, a connection that never
    opened) puts it back in the queue and retries with backoff; the last retry is the
    final attempt, which marks the reply failed if the trouble lasts. A send that may have
    reached the platform is never repeated (``message_deliver`` marks it failed).
    """
    from messaging.services import SendOutcome, message_deliver

    final = self.request.retries >= self.max_retries
    outcome = message_deliver(message_id=message_id, final_attempt=final)
    if outcome == SendOutcome.RETRY:
        raise SendAgain(f"reply {message_id} goes back to the queue")
    return str(outcome)


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
    """Beat, every minute: give up on replies stuck in `sending` (their worker died
    mid-send: marked failed, "may have been delivered") and re-queue replies left queued
    (their task was lost; the queued → sending claim makes a duplicate task harmless).
    Answers how many of each."""
    from messaging.services import messages_fail_stuck, messages_left_queued

    failed = messages_fail_stuck(older_than_seconds=SEND_STUCK_AFTER_SECONDS)
    queued = 0
    for message_id in messages_left_queued(older_than_seconds=SEND_SWEEP_AFTER_SECONDS):
        if not message_send_enqueue(message_id):
            break
        queued += 1
    return {"failed": failed, "queued": queued}


@shared_task
def conversations_wake_task() -> int:
    """Beat: reopen snoozed conversations whose time has come."""
    from messaging.services import conversations_wake_snoozed

    return conversations_wake_snoozed()
