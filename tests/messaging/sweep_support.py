"""A backlog of deliveries nobody processed, as a Redis outage leaves behind: stored, a
few minutes old, their tasks lost."""

from __future__ import annotations

import itertools
from datetime import timedelta

from django.utils import timezone

from accounts.models import OfficialAccount
from messaging.models import Inbound
from tests.factories import make_follower

_keys = itertools.count()


def backlog(account: OfficialAccount, count: int, *, minutes_ago: float = 2,
            followers: int = 20) -> list[int]:
    """``count`` text deliveries from ``followers`` known followers (their profiles already
    fetched, so processing them calls no platform), unprocessed; answers their ids, oldest
    first."""
    now = timezone.now()
    known = [make_follower(account=account, profile_fetched_at=now) for _ in range(followers)]
    at = now - timedelta(minutes=minutes_ago)
    rows = [
        Inbound(brand_id=account.brand_id, account=account, dedupe_key=f"backlog:{next(_keys)}",
                msg_type="text", openid=known[n % followers].openid,
                payload={"MsgType": "text", "Content": f"message {n}"}, created_time=at)
        for n in range(count)
    ]
    created = Inbound.objects.bulk_create(rows, batch_size=1000)
    ids = [row.pk for row in created]
    # received_at is set on insert; age them as rows that waited through the outage.
    Inbound.objects.filter(pk__in=ids).update(received_at=at)
    return ids


def unprocessed(ids: list[int] | None = None) -> int:
    rows = Inbound.objects.filter(processed_at__isnull=True)
    return (rows.filter(pk__in=ids) if ids is not None else rows).count()
