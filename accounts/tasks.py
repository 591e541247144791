"""Background work for accounts: keeping every connected account's access token alive."""

import logging

from celery import shared_task

from accounts.models import OfficialAccount
from accounts.tokens import accounts_with_due_tokens

logger = logging.getLogger(__name__)

REFRESH_EXPIRES = 60  # seconds: the beat draws the list of due tokens every minute


@shared_task
def tokens_refresh_due_task() -> int:
    """Beat, every minute: queue a renewal for each account whose token is missing or due."""
    due = accounts_with_due_tokens()
    for account_id in due:
        # A renewal still waiting when the next list is drawn is stale (workers were busy
        # or away): expired, so a backlog of them does not pile up; each is idempotent.
        token_refresh_task.apply_async((account_id,), expires=REFRESH_EXPIRES)
    return len(due)


@shared_task
def token_refresh_task(account_id: int) -> str:
    """Renew one account's token if it is still due and no other worker is renewing it.

    Answers ``fresh``, ``renewed``, ``busy`` (another worker holds the lock), ``failed``
    (recorded on the account) or ``skipped`` (gone, inactive or disconnected).
    """
    from accounts.wechat_clients import token_provider_for

    account = OfficialAccount.objects.filter(
        pk=account_id, is_active=True, disconnected_at=None
    ).first()
    if account is None:
        logger.info("token refresh skipped", extra={"account_id": account_id})
        return "skipped"
    return token_provider_for(account).renew_if_due(account.appid)
