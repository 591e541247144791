"""The follower list's sync column: each served account with its newest job (by creation,
the higher id on a tie), whatever came before it; none for an account never synced."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from followers.models_sync import FollowerSync

pytestmark = pytest.mark.django_db


def _job(account, status, created_at):  # noqa: ANN001, ANN202
    job = FollowerSync.objects.create(brand_id=account.brand_id, account=account,
                                      status=status)
    FollowerSync.objects.filter(pk=job.pk).update(created_at=created_at)
    return job


def _shown(client) -> dict[int, int | None]:  # noqa: ANN001
    rows = client.get("/crm/followers/").context["sync_rows"]
    return {row["account"].pk: row["job"].pk if row["job"] else None for row in rows}


def test_each_account_shows_its_newest_job(client, two_brands):
    a1, a2, b1 = two_brands["a1"], two_brands["a2"], two_brands["b1"]
    now = timezone.now()
    _job(a1, FollowerSync.Status.DONE, now - timedelta(days=2))
    newest_a1 = _job(a1, FollowerSync.Status.FAILED, now - timedelta(hours=1))
    _job(a1, FollowerSync.Status.DONE, now - timedelta(days=1))
    tie = now - timedelta(hours=3)
    _job(a2, FollowerSync.Status.DONE, tie)
    newest_a2 = _job(a2, FollowerSync.Status.DONE, tie)
    _job(b1, FollowerSync.Status.DONE, now)  # another brand's, newer than all

    client.force_login(two_brands["admin_a"].user)
    shown = _shown(client)
    assert shown[a1.pk] == newest_a1.pk and shown[a2.pk] == newest_a2.pk
    assert b1.pk not in shown
    # An agent serving a2 sees a2's row only.
    client.force_login(two_brands["agent_a"].user)
    assert _shown(client) == {a2.pk: newest_a2.pk}


def test_an_account_never_synced_shows_no_job(client, two_brands):
    a1, a2 = two_brands["a1"], two_brands["a2"]
    _job(a2, FollowerSync.Status.DONE, timezone.now())
    client.force_login(two_brands["admin_a"].user)
    shown = _shown(client)
    assert shown[a1.pk] is None and shown[a2.pk] is not None
