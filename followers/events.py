"""The payloads of the CRM's domain events (`accounts.events`), one builder each."""

from __future__ import annotations

from datetime import datetime

from accounts import events
from accounts.events import CustomerMerged, CustomerUpdated, FollowerFact
from followers.models import Follower


def follower_fact_for(follower: Follower, *, at: datetime, qr_scene: str = "") -> FollowerFact:
    return {
        "brand_id": follower.brand_id,
        "account_id": follower.account_id,
        "follower_id": follower.pk,
        "customer_id": follower.customer_id,
        "at": at.isoformat(),
        "qr_scene": qr_scene,
    }


def announce_subscribed(follower: Follower, *, at: datetime, qr_scene: str = "") -> None:
    events.announce("follower.subscribed", follower_fact_for(follower, at=at, qr_scene=qr_scene))


def announce_unsubscribed(follower: Follower, *, at: datetime) -> None:
    events.announce("follower.unsubscribed", follower_fact_for(follower, at=at))


def customer_merged(*, brand_id: int, customer_id: int, merged_customer_id: int,
                    follower_ids: list[int], by_membership_id: int | None) -> CustomerMerged:
    return {
        "brand_id": brand_id,
        "customer_id": customer_id,
        "merged_customer_id": merged_customer_id,
        "follower_ids": sorted(follower_ids),
        "by_membership_id": by_membership_id,
    }


def customer_updated(*, brand_id: int, customer_id: int, fields: list[str],
                     by_membership_id: int | None) -> CustomerUpdated:
    return {
        "brand_id": brand_id,
        "customer_id": customer_id,
        "fields": sorted(fields),
        "by_membership_id": by_membership_id,
    }
