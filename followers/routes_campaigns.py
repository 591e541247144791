"""Routes of the CRM's campaigns part: REST resources on the API's one router, pages under /crm/."""

from __future__ import annotations

from django.urls import URLPattern, path
from rest_framework.routers import BaseRouter

from followers import views_campaigns

PAGES: list[URLPattern] = [
    path("campaigns/", views_campaigns.campaigns_page, name="crm_campaigns"),
    path("campaigns/report.csv", views_campaigns.campaign_report_csv,
         name="crm_campaign_report_csv"),
    path("campaigns/qrcodes/<int:pk>.png", views_campaigns.qrcode_png, name="crm_qrcode_png"),
    path("campaigns/qrcodes/<int:pk>/delete/", views_campaigns.qrcode_delete_page,
         name="crm_qrcode_delete"),
    path("campaigns/<int:pk>/", views_campaigns.campaign_page, name="crm_campaign"),
    path("campaigns/<int:pk>/delete/", views_campaigns.campaign_delete_page,
         name="crm_campaign_delete"),
]


def register(router: BaseRouter) -> None:
    from followers.api_campaigns import (
        CrmCampaignReportViewSet,
        CrmCampaignViewSet,
        CrmQRCodeViewSet,
        CrmRetentionViewSet,
        register_setting_route,
    )

    router.register("campaigns", CrmCampaignViewSet, basename="crm-campaign")
    router.register("qrcodes", CrmQRCodeViewSet, basename="crm-qrcode")
    router.register("campaign-report", CrmCampaignReportViewSet,
                    basename="crm-campaign-brand-report")
    register_setting_route(router)
    router.register("crm-retention", CrmRetentionViewSet, basename="crm-retention")
