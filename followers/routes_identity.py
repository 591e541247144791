"""Routes of the CRM's identity part: REST resources on the API's one router, pages under /crm/."""

from __future__ import annotations

from django.urls import URLPattern, path
from rest_framework.routers import BaseRouter

from followers import views_identity

PAGES: list[URLPattern] = [
    path("import/", views_identity.import_page, name="crm_import"),
    path("export/customers.csv", views_identity.export_customers, name="crm_export_customers"),
    path("export/followers.csv", views_identity.export_followers, name="crm_export_followers"),
]


def register(router: BaseRouter) -> None:
    from followers.api_identity import CustomerAttributeViewSet, CustomerMergeViewSet

    router.register("customer-merges", CustomerMergeViewSet, basename="crm-customer-merge")
    router.register("customer-attributes", CustomerAttributeViewSet,
                    basename="crm-customer-attribute")
