"""Background work for the console: pushing messaging's facts to the screens."""

import logging

from celery import shared_task
from celery.exceptions import MaxRetriesExceededError

from routing import realtime

logger = logging.getLogger(__name__)

# A push that could not reach the channel layer is tried again after 1, 2 and 4 s.
PUSH_RETRIES = 3


@shared_task
def console_push_task(name: str, payload: dict) -> int:
    """Send one announced fact (`message.created`, …) to the screens allowed to see it.
    Web processes now queue `console_push_batch_task`; this one stays registered for
    tasks queued before that, and for running one push by hand.

    Re-reads the rows, so a late or repeated run sends the current state; a gone row is
    logged and skipped. Answers the number of members it went to."""
    return realtime.push(name, payload)


@shared_task(bind=True, max_retries=PUSH_RETRIES, acks_late=True, reject_on_worker_lost=True)
def console_push_batch_task(self, events: list[list]) -> int:  # noqa: ANN001
    """`console_push_task` for a batch of ``[name, payload]`` pairs, in order (web
    processes batch them: `messaging.task_batches`). Answers how many members were sent
    to in all.

    An event the channel layer refused (Redis unreachable) is sent again a little later,
    re-read then; the screens cannot tell it is missing when only this worker lost Redis.
    If Redis is gone for everyone, the sockets notice by themselves and resync when it is
    back. Any other failing event is logged and skipped."""
    sent, unsent = realtime.push_batch([(name, payload) for name, payload in events])
    if unsent:
        try:
            raise self.retry(args=([list(pair) for pair in unsent],),
                             countdown=2 ** self.request.retries)
        except MaxRetriesExceededError:
            logger.error("console push gave up after %d tries; screens resync when they "
                         "next see the layer", PUSH_RETRIES + 1,
                         extra={"count": len(unsent)})
    return sent


# Routing's other tasks live in modules of their own; import them so the worker (which
# discovers `routing.tasks`) registers them.
from routing import tasks_assignment, tasks_targets, tasks_transfers  # noqa: E402, F401
