"""Routes of the CRM's identity part: REST resources on the API's one router, pages under /crm/."""

from __future__ import annotations

from django.urls import URLPattern, path
from rest_framework.routers import BaseRouter

from followers import views_attributes, views_identity

PAGES: list[URLPattern] = [
    path("import/", views_identity.import_page, name="crm_import"),
    path("export/customers.csv", views_identity.export_customers, name="crm_export_customers"),
    path("export/followers.csv", views_identity.export_followers, name="crm_export_followers"),
    path("attributes/", views_attributes.attributes_page, name="crm_attributes"),
    path("attributes/<int:pk>/edit/", views_attributes.attribute_edit, name="crm_attribute_edit"),
    path("attributes/<int:pk>/delete/", views_attributes.attribute_delete,
         name="crm_attribute_delete"),
]


def register(router: BaseRouter) -> None:
    from followers.api_identity import CustomerAttributeViewSet, CustomerMergeViewSet

    router.register("customer-merges", CustomerMergeViewSet, basename="crm-customer-merge")
    router.register("customer-attributes", CustomerAttributeViewSet,
                    basename="crm-customer-attribute")
