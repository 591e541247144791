"""Background work for the console: pushing messaging's facts to the screens."""

import logging

from celery import shared_task

from routing import realtime

logger = logging.getLogger(__name__)


@shared_task
def console_push_task(name: str, payload: dict) -> int:
    """Send one announced fact (`message.created`, …) to the screens allowed to see it.
    Web processes now queue `console_push_batch_task`; this one stays registered for
    tasks queued before that, and for running one push by hand.

    Re-reads the rows, so a late or repeated run sends the current state; a gone row is
    logged and skipped. Answers the number of members it went to."""
    return realtime.push(name, payload)


@shared_task
def console_push_batch_task(events: list[list]) -> int:
    """`console_push_task` for a batch of ``[name, payload]`` pairs, in order (web
    processes batch them: `messaging.task_batches`). One failing event is logged and
    skipped; answers how many member groups were sent to in all."""
    sent = 0
    for name, payload in events:
        try:
            sent += realtime.push(name, payload)
        except Exception:
            logger.exception("console push failed", extra={"hook": name})
    return sent
