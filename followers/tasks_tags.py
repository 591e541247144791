"""Background work of the CRM's tags part (registered through followers/tasks.py).

- ``tags_push_task``: one account's pending tag changes to WeChat (followers.tags).
- ``tags_pull_task``: one account's tags and their members from WeChat.
- ``behaviour_rules_task``: beat, every 10 minutes: every behaviour rule over every
  follower (set-based), then a push for any account whose changes are still pending (a
  lost task or a broker outage loses nothing).
- ``behaviour_rules_followers_task``: the same for a few followers, on a domain event.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import timedelta

from celery import shared_task
from django.utils import timezone
from kombu.exceptions import OperationalError as BrokerError

from followers.models import TagSync
from followers.tag_rules import behaviour_rules_evaluate
from followers.tags import tags_pull_account, tags_push_account

logger = logging.getLogger(__name__)

PUSH_SWEEP_AFTER = timedelta(minutes=1)


@shared_task(acks_late=True)
def tags_push_task(account_id: int) -> dict:
    report = tags_push_account(account_id=account_id)
    return {"created": report.created, "tagged": report.tagged, "untagged": report.untagged,
            "failed": report.failed, "pending": report.pending, "errors": report.errors}


def tags_push_enqueue(account_ids: Iterable[int]) -> None:
    """Queue a push per account; called on commit. Never raises: the rows stay pending and
    ``behaviour_rules_task`` pushes them later."""
    for account_id in account_ids:
        try:
            tags_push_task.apply_async((account_id,), retry=False)
        except (BrokerError, OSError) as exc:
            logger.warning("could not queue a tag push; the periodic task will",
                           extra={"account_id": account_id, "error": str(exc)})


def tags_pull_enqueue(account_id: int, *, failure: str = "could not queue a tag pull") -> bool:
    """Queue the pull of one account's tags; False (and ``failure`` logged) when the broker
    cannot be reached. Never raises: the caller says what that means for it."""
    try:
        tags_pull_task.apply_async((account_id,), retry=False)
    except (BrokerError, OSError) as exc:
        logger.warning(failure, extra={"account_id": account_id, "error": str(exc)})
        return False
    return True


@shared_task(acks_late=True)
def tags_pull_task(account_id: int) -> dict:
    report = tags_pull_account(account_id=account_id)
    return {"tags": report.tags, "created": report.brand_tags_created,
            "added": report.added, "removed": report.removed}


@shared_task(acks_late=True)
def behaviour_rules_followers_task(follower_ids: list[int], behaviours: list[str]) -> int:
    return behaviour_rules_evaluate(follower_ids=follower_ids, behaviours=behaviours)


@shared_task
def behaviour_rules_task() -> dict:
    changes = behaviour_rules_evaluate()
    stale = timezone.now() - PUSH_SWEEP_AFTER
    accounts = sorted(set(TagSync.objects.filter(state=TagSync.State.PENDING,
                                                 updated_at__lt=stale)
                          .values_list("account_id", flat=True)))
    tags_push_enqueue(accounts)
    logger.info("behaviour rules evaluated", extra={"changes": changes,
                                                    "accounts_pushed": len(accounts)})
    return {"changes": changes, "accounts_pushed": len(accounts)}
