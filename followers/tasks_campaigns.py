"""Background work of the CRM's campaigns part (registered through followers/tasks.py)."""

from __future__ import annotations

from celery import shared_task

from followers.erasure import customers_erase_due


@shared_task(name="followers.tasks_campaigns.retention_erase_task", ignore_result=True)
def retention_erase_task() -> int:
    """Hourly (CELERY_BEAT_SCHEDULE "crm-retention-erase"): erase the personal profile
    fields of customers whose retention period after their last unfollow ran out."""
    return customers_erase_due()
