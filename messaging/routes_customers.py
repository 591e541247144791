"""Routes of the CRM's customers part that read conversations: REST resources on the API's one
router, pages under /crm/."""

from __future__ import annotations

from django.urls import URLPattern, path
from rest_framework.routers import BaseRouter

from messaging import customer_page

PAGES: list[URLPattern] = [
    path("customers/", customer_page.customer_list_page, name="crm_customers"),
    path("customers/<int:pk>/", customer_page.customer_detail_page, name="crm_customer"),
    path("customers/<int:pk>/merge/", customer_page.customer_merge_page,
         name="crm_customer_merge"),
    path("customers/<int:pk>/dismiss/", customer_page.customer_dismiss_page,
         name="crm_customer_dismiss"),
    path("customer-merges/<int:pk>/unmerge/", customer_page.customer_unmerge_page,
         name="crm_customer_unmerge"),
]


def register(router: BaseRouter) -> None:
    from messaging.customer_api import CustomerViewSet

    router.register("customers", CustomerViewSet, basename="crm-customer")
