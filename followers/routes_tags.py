"""Routes of the CRM's tags part: REST resources on the API's one router, pages under /crm/."""

from __future__ import annotations

from django.urls import URLPattern, path
from rest_framework.routers import BaseRouter

from followers import views_tags

PAGES: list[URLPattern] = [
    path("tags/", views_tags.tags_page, name="crm_tags"),
    path("tags/pull/", views_tags.tags_pull, name="crm_tags_pull"),
    path("tags/<int:pk>/push/", views_tags.tag_push, name="crm_tag_push"),
    path("tags/<int:pk>/rename/", views_tags.tag_rename_page, name="crm_tag_rename"),
    path("tags/<int:pk>/delete/", views_tags.tag_delete_page, name="crm_tag_delete"),
    path("tag-rules/", views_tags.rules_page, name="crm_tag_rules"),
    path("tag-rules/new/", views_tags.rule_new, name="crm_tag_rule_new"),
    path("tag-rules/<int:pk>/edit/", views_tags.rule_edit, name="crm_tag_rule_edit"),
    path("tag-rules/<int:pk>/delete/", views_tags.rule_delete, name="crm_tag_rule_delete"),
    path("tag-rules/<int:pk>/move/", views_tags.rule_move, name="crm_tag_rule_move"),
]


def register(router: BaseRouter) -> None:
    from followers.api_tags import CrmTagRuleViewSet, CrmTagViewSet

    router.register("tags", CrmTagViewSet, basename="crm-tag")
    router.register("tag-rules", CrmTagRuleViewSet, basename="crm-tag-rule")
