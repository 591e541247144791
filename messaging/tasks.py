"""Celery tasks of messaging.

Inbound: ``inbound_process_batch_task`` does the slow part of accepted deliveries
(profile, media), a batch at a time (``task_batches``); ``inbound_process_task`` retries
one that met a transient failure; ``inbound_sweep_task`` (beat, every minute) re-queues
rows left unprocessed, so a lost task or a broker outage loses nothing.
"""

from __future__ import annotations

import logging
import random
import time

from celery import shared_task
from kombu.exceptions import OperationalError as BrokerError

from messaging.processing import TRANSIENT, inbound_due_ids, inbound_process
from messaging.task_batches import batch_submit

logger = logging.getLogger(__name__)

# --- inbound ----------------------------------------------------------------------------

INBOUND_MAX_RETRIES = 8


def _backoff(retries: int) -> float:
    # Exponential with full jitter, capped at ten minutes.
    return random.uniform(0, min(600.0, 5.0 * 2**retries))  # noqa: S311


@shared_task(bind=True, max_retries=INBOUND_MAX_RETRIES, acks_late=True)
def inbound_process_task(self, inbound_id: int) -> str:  # noqa: ANN001
    try:
        return inbound_process(inbound_id=inbound_id)
    except TRANSIENT as exc:
        logger.warning(
            "inbound processing failed, will retry",
            extra={"inbound_id": inbound_id, "error": str(exc), "retries": self.request.retries},
        )
        if self.request.is_eager:
            # In-process runs (demo, tests) leave the row to the sweep instead of looping.
            return "deferred"
        raise self.retry(exc=exc, countdown=_backoff(self.request.retries)) from exc


@shared_task(acks_late=True)
def inbound_process_batch_task(inbound_ids: list[int]) -> dict[str, int]:
    """Process a batch of accepted deliveries (``task_batches``); answers a count per
    outcome. A delivery the platform cannot serve now gets a task of its own, with retries
    and backoff; one failing row never holds up the others."""
    outcomes: dict[str, int] = {}
    for inbound_id in inbound_ids:
        try:
            outcome = inbound_process(inbound_id=inbound_id)
        except TRANSIENT as exc:
            logger.warning("inbound processing failed, will retry",
                           extra={"inbound_id": inbound_id, "error": str(exc)})
            if not inbound_process_batch_task.app.conf.task_always_eager:
                # In-process runs (demo, tests) leave the row to the sweep.
                _retry_alone(inbound_id)
            outcome = "deferred"
        except Exception:
            logger.exception("inbound processing failed", extra={"inbound_id": inbound_id})
            outcome = "error"
        outcomes[outcome] = outcomes.get(outcome, 0) + 1
    return outcomes


def _retry_alone(inbound_id: int) -> None:
    try:
        inbound_process_task.apply_async((inbound_id,), countdown=_backoff(0), retry=False)
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
SEND_BACKOFF_BASE = 2.0  # seconds
SEND_BACKOFF_CAP = 60.0
# A reply still queued after this long lost its task (broker outage): queue it again.
SEND_SWEEP_AFTER_SECONDS = 60


def send_backoff(retry_number: int) -> float:
    """Full jitter under a capped exponential ceiling, so a burst of -1 answers does not
    bring every worker back at the same instant."""
    ceiling = min(SEND_BACKOFF_CAP, SEND_BACKOFF_BASE * 2**retry_number)
    return random.uniform(0, ceiling)  # noqa: S311 - jitter, not security


@shared_task(bind=True, max_retries=SEND_MAX_RETRIES)
def message_send_task(self, message_id: int) -> str:  # noqa: ANN001
    """Send one queued reply through its channel account and record the outcome.

    Answers ``sent``, ``failed``, ``taken`` (another worker claimed it, or it is no longer
    queued) or ``gone``. Transient platform trouble (-1, 45011, a connection that never
    opened) puts it back in the queue and retries with backoff; a send that may have
    reached the platform is never repeated (``message_deliver`` marks it failed).
    """
    from messaging.services import SendOutcome, message_deliver

    if self.request.is_eager:
        # In-process runs (demo, tests) cannot hand a retry back to a broker (an eager
        # retry raises instead), so they retry here, briefly.
        for attempt in range(SEND_MAX_RETRIES + 1):
            final = attempt == SEND_MAX_RETRIES
            outcome = message_deliver(message_id=message_id, final_attempt=final)
            if outcome != SendOutcome.RETRY:
                return str(outcome)
            time.sleep(min(0.5, send_backoff(attempt)))
    final = self.request.retries >= SEND_MAX_RETRIES
    outcome = message_deliver(message_id=message_id, final_attempt=final)
    if outcome == SendOutcome.RETRY:
        raise self.retry(countdown=send_backoff(self.request.retries))
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
def message_send_sweep_task() -> int:
    """Re-queue replies left queued (their task was lost); the queued → sending claim
    makes a duplicate task harmless."""
    from messaging.services import messages_left_queued

    queued = 0
    for message_id in messages_left_queued(older_than_seconds=SEND_SWEEP_AFTER_SECONDS):
        if not message_send_enqueue(message_id):
            break
        queued += 1
    return queued


@shared_task
def conversations_wake_task() -> int:
    """Beat: reopen snoozed conversations whose time has come."""
    from messaging.services import conversations_wake_snoozed

    return conversations_wake_snoozed()
