"""Routes of the CRM's segments part: REST resources on the API's one router, pages under /crm/."""

from __future__ import annotations

from django.urls import URLPattern, path
from rest_framework.routers import BaseRouter

from followers import views_segments

PAGES: list[URLPattern] = [
    path("segments/", views_segments.segment_list_page, name="crm_segments"),
    path("segments/new/", views_segments.segment_new, name="crm_segment_new"),
    path("segments/count/", views_segments.segment_count_page, name="crm_segment_count"),
    path("segments/<int:pk>/", views_segments.segment_detail, name="crm_segment"),
    path("segments/<int:pk>/delete/", views_segments.segment_delete_page,
         name="crm_segment_delete"),
]


def register(router: BaseRouter) -> None:
    from followers.api_segments import SegmentViewSet

    router.register("segments", SegmentViewSet, basename="segment")
