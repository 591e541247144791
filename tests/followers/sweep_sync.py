"""The tenancy sweep's rows for the CRM's sync part (tests/test_tenancy_sweep.py): routes
with an id, and the objects of brand A or B that fill their placeholders."""

from __future__ import annotations

# (url, methods), placeholders in {braces} named by `ids`.
HTML_ROUTES: list[tuple[str, list[str]]] = []
API_ROUTES: list[tuple[str, list[str]]] = [
    ("/api/v1/follower-syncs/{sync_job}/", ["get"]),
    ("/api/v1/followers/{sync_follower}/", ["get"]),
]


def ids(data: dict, brand: str) -> dict[str, int]:
    """Placeholder -> pk of an object of ``brand`` ("a" or "b") from ``data`` (the
    two_brands dataset), made here when the dataset has none."""
    from followers.models_sync import FollowerSync

    conversation = data[f"conversation_{brand}"]
    account = conversation.channel_account
    job = FollowerSync.objects.filter(account=account).first() or FollowerSync.objects.create(
        brand_id=account.brand_id, account=account, status=FollowerSync.Status.DONE)
    return {"sync_job": job.pk, "sync_follower": conversation.follower_id}
