"""Background work of the CRM's sync part (registered through followers/tasks.py)."""

from __future__ import annotations

import logging

from celery import shared_task
from django.db import transaction

from followers import sync
from followers.tasks_tags import tags_pull_enqueue

logger = logging.getLogger(__name__)


@shared_task(name="followers.tasks_sync.sync_run_task", acks_late=True,
             reject_on_worker_lost=True, ignore_result=True)
def sync_run_task(sync_id: int) -> str:
    """One slice of a follower sync; queues the next slice, or its retry, itself.
    Acknowledged late: a worker that dies mid-slice leaves the task to the broker, and the
    job's saved cursor says where the next one starts."""
    outcome = sync.sync_run(sync_id=sync_id)
    if outcome == "continue":
        sync_run_task.delay(sync_id)
    elif outcome == "retry":
        retries = sync.FollowerSync.objects.filter(pk=sync_id).values_list(
            "retries", flat=True).first() or 1
        countdown = min(sync.RETRY_BASE_SECONDS * 2 ** (retries - 1), sync.STALE_SECONDS)
        sync_run_task.apply_async((sync_id,), countdown=countdown)
    return outcome


@shared_task(name="followers.tasks_sync.sync_resume_task", ignore_result=True)
def sync_resume_task() -> int:
    """Beat: queue again the paused jobs whose quota day is over and the jobs whose worker
    died (a stale heartbeat)."""
    ids = sync.sync_resumable_ids()
    for sync_id in ids:
        sync_run_task.delay(sync_id)
    if ids:
        logger.info("follower syncs resumed", extra={"sync_ids": ids})
    return len(ids)


def tags_pull_after_sync(*, account_id: int) -> None:
    """Queue the pull of the account's tags and their members (``tags_pull_task``) once
    the caller's transaction commits: the end of a full sync. Never raises for the
    broker: the job is done whatever becomes of the pull, and the tags page pulls again."""
    transaction.on_commit(lambda: tags_pull_enqueue(
        account_id, failure="could not queue the tag pull after a sync"))
