"""Background work of response-time targets: keeping due times current after what moved
them, and the sweep (`routing.targets`, `routing.overflow`, `routing.auto_resolve`).

Both re-read the rows and are idempotent: a due time computed twice is the same, a
breach is recorded once per wait, a conversation moved or resolved no longer matches.
"""

from __future__ import annotations

import logging

from celery import shared_task

from routing import targets

logger = logging.getLogger(__name__)


@shared_task(acks_late=True, reject_on_worker_lost=True)
def due_refresh_batch_task(conversation_ids: list[int]) -> int:
    """Compute each conversation's due time again (a message, a reply, a new team);
    answers how many have one. One failing conversation is logged and left to the sweep."""
    return dues_refresh(conversation_ids)


def dues_refresh(conversation_ids: list[int]) -> int:
    """The task's work, also run in a worker at the end of the task that announced what
    moved the due times (`messaging.task_batches`)."""
    try:
        dues = targets.conversations_due_refresh(list(dict.fromkeys(conversation_ids)))
    except Exception:
        # The batch in one go failed: each on its own, so one bad row costs only itself.
        logger.exception("refreshing due times failed; one by one now",
                         extra={"count": len(conversation_ids)})
        dues = {}
        for conversation_id in dict.fromkeys(conversation_ids):
            try:
                dues[conversation_id] = targets.conversation_due_refresh(
                    conversation_id=conversation_id)
            except Exception:
                logger.exception("refreshing a due time failed",
                                 extra={"conversation_id": conversation_id})
    return sum(due is not None for due in dues.values())


@shared_task(acks_late=True, reject_on_worker_lost=True)
def targets_sweep_task() -> dict:
    """Every 30 s (beat): missing due times, breaches, overflow after waiting and the
    return, idle conversations resolved."""
    return targets.targets_sweep()
