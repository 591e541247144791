"""Routes of the CRM's sync part: REST resources on the API's one router, pages under /crm/."""

from __future__ import annotations

from django.urls import URLPattern, path
from rest_framework.routers import BaseRouter

from followers import views_sync

PAGES: list[URLPattern] = [
    path("followers/", views_sync.followers_page, name="crm_followers"),
    path("followers/sync/", views_sync.follower_sync_start_view, name="crm_follower_sync_start"),
]


def register(router: BaseRouter) -> None:
    from followers.api_sync import CrmFollowerSyncViewSet, CrmFollowerViewSet

    router.register("follower-syncs", CrmFollowerSyncViewSet, basename="crm-follower-sync")
    router.register("followers", CrmFollowerViewSet, basename="crm-follower")
