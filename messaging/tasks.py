"""Celery tasks of messaging.

Inbound: ``inbound_process_task`` does the slow part of an accepted delivery (profile,
media); ``inbound_sweep_task`` (beat, every minute) re-queues rows left unprocessed, so a
lost task or a broker outage loses nothing.
"""

from __future__ import annotations

import logging
import random

from celery import shared_task
from kombu.exceptions import OperationalError as BrokerError

from messaging.processing import TRANSIENT, inbound_due_ids, inbound_process

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


def inbound_enqueue(inbound_id: int) -> bool:
    """Queue the processing of one row; called on commit. Never raises: the row is stored
    and the sweep will queue it again, so a broker outage must not fail the callback."""
    try:
        # retry=False: with the broker down, fail at once rather than hold the callback.
        inbound_process_task.apply_async((inbound_id,), retry=False)
    except (BrokerError, OSError) as exc:
        logger.warning(
            "could not queue inbound processing; the sweep will",
            extra={"inbound_id": inbound_id, "error": str(exc)},
        )
        return False
    except Exception:
        logger.exception("inbound processing failed", extra={"inbound_id": inbound_id})
        return False
    return True


@shared_task
def inbound_sweep_task() -> int:
    """Re-queue rows nobody finished; returns how many were queued."""
    queued = 0
    for inbound_id in inbound_due_ids():
        if not inbound_enqueue(inbound_id):
            break  # the broker is still away; the next sweep tries again
        queued += 1
    if queued:
        logger.info("inbound sweep re-queued rows", extra={"count": queued})
    return queued


# --- outbound ---------------------------------------------------------------------------
# message_send_task (H8) goes here.
