"""REST: QR campaigns, their codes (with the poster PNG), the retention reports and the
brand's retention setting.

Reading is for every member (codes and reports cover the accounts they serve); making
and changing campaigns and codes takes an owner, admin or manager; the retention
setting takes an owner or admin of the whole brand. A report is JSON, or CSV with
``?format=csv`` (or Accept: text/csv).
"""

from __future__ import annotations

import re
from datetime import date, timedelta
from zoneinfo import ZoneInfo

from django.db.models import QuerySet
from django.http import HttpResponse
from django.utils import timezone
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import mixins, renderers, serializers, status
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.routers import BaseRouter, Route

from accounts.api_base import ScopedViewSet
from accounts.api_schema import answers
from accounts.errors import InvalidInput
from accounts.scope import Scope, access
from followers import campaigns, retention
from followers.models import Campaign, QRCode
from followers.qr_images import qr_poster_png
from followers.serializers_campaigns import (
    CrmCampaignSerializer,
    CrmCampaignWriteSerializer,
    CrmQRCodeCreateSerializer,
    CrmQRCodeSerializer,
    CrmRetentionReportSerializer,
    CrmRetentionSettingSerializer,
)

MAX_PERIOD_DAYS = 3660


def _field_errors(exc: InvalidInput) -> serializers.ValidationError:
    return serializers.ValidationError(exc.fields or {"detail": exc.message})


class CrmReportCsvRenderer(renderers.BaseRenderer):
    """CSV for ?format=csv or Accept: text/csv; an error is its message as plain text."""

    media_type = "text/csv"
    format = "csv"
    charset = "utf-8"

    def render(self, data: object, accepted_media_type: str | None = None,
               renderer_context: dict | None = None) -> bytes:
        if isinstance(data, dict) and "detail" in data:
            return str(data["detail"]).encode()
        return str(data or "").encode()


class CrmPngRenderer(renderers.BaseRenderer):
    media_type = "image/png"
    format = "png"
    charset = None
    render_style = "binary"

    def render(self, data: object, accepted_media_type: str | None = None,
               renderer_context: dict | None = None) -> bytes:
        if isinstance(data, bytes):
            return data
        if isinstance(data, dict) and "detail" in data:
            return str(data["detail"]).encode()
        return b""


def period_of(params: dict, *, scope: Scope) -> tuple[date, date]:
    """[from, to] from the query (YYYY-MM-DD, both included); by default the last 7 days
    in the brand's time zone."""
    today = timezone.now().astimezone(ZoneInfo(scope.brand.time_zone)).date()
    errors: dict[str, list[str]] = {}
    found: dict[str, date | None] = {}
    for name in ("from", "to"):
        raw = params.get(name) or ""
        try:
            found[name] = date.fromisoformat(raw) if raw else None
        except ValueError:
            errors[name] = [_("Give a date as YYYY-MM-DD.")]
    if errors:
        raise serializers.ValidationError(errors)
    date_to = found["to"] or today
    date_from = found["from"] or date_to - timedelta(days=6)
    if date_from > date_to:
        raise serializers.ValidationError({"from": [_("The period starts after it ends.")]})
    if (date_to - date_from).days > MAX_PERIOD_DAYS:
        raise serializers.ValidationError({"from": [_("The period is at most ten years.")]})
    return date_from, date_to


_PERIOD = [
    OpenApiParameter("from", OpenApiTypes.DATE,
                     description="The period's first day (default: 6 days before `to`)."),
    OpenApiParameter("to", OpenApiTypes.DATE,
                     description="The period's last day, included (default: today)."),
    OpenApiParameter("lost_only", OpenApiTypes.BOOL,
                     description="Only rows with unfollows in the period."),
    OpenApiParameter("format", OpenApiTypes.STR, enum=["json", "csv"],
                     description="csv: the table as CSV."),
]
_REPORT_RESPONSES = {
    200: CrmRetentionReportSerializer,
    (200, "text/csv"): OpenApiResponse(OpenApiTypes.STR, description=", ".join(
        retention.CSV_COLUMNS)),
}


def report_response(request: Request, *, scope: Scope, campaign: Campaign | None,
                    filename: str) -> Response | HttpResponse:
    date_from, date_to = period_of(request.query_params, scope=scope)
    given = (request.query_params.get("lost_only") or "false").lower()
    if given not in ("true", "false"):
        raise serializers.ValidationError({"lost_only": [_("true or false.")]})
    lost_only = given == "true"
    rows = retention.retention_table(scope=scope, date_from=date_from, date_to=date_to,
                                     campaign=campaign, lost_only=lost_only)
    if request.accepted_renderer.format == "csv":
        answer = HttpResponse(retention.retention_csv(rows), content_type="text/csv; charset=utf-8")
        answer["Content-Disposition"] = (
            f'attachment; filename="{filename}-{date_from}-{date_to}.csv"')
        return answer
    data = {"date_from": date_from, "date_to": date_to, "rows": rows,
            "totals": retention.retention_totals(rows)}
    return Response(CrmRetentionReportSerializer(data).data)


class CrmCampaignViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, ScopedViewSet):
    """The brand's QR campaigns with their follows and scans (on your accounts)."""

    serializer_class = CrmCampaignSerializer
    lookup_value_regex = r"[0-9]+"
    filter_backends: list = []

    def scoped_queryset(self, scope: Scope) -> QuerySet:
        return campaigns.campaign_list_with_counts(scope=scope).order_by("name", "pk")

    @extend_schema(request=CrmCampaignWriteSerializer, responses={201: CrmCampaignSerializer})
    @answers(409)
    def create(self, request: Request) -> Response:
        given = CrmCampaignWriteSerializer(data=request.data)
        given.is_valid(raise_exception=True)
        try:
            made = campaigns.campaign_create(scope=self.scope, **given.validated_data)
        except InvalidInput as exc:
            raise _field_errors(exc) from exc
        made = self.get_queryset().get(pk=made.pk)
        return Response(CrmCampaignSerializer(made).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=CrmCampaignWriteSerializer, responses=CrmCampaignSerializer)
    @answers(409)
    def update(self, request: Request, pk: str | None = None, partial: bool = False) -> Response:
        campaign = self.get_object()
        given = CrmCampaignWriteSerializer(data=request.data, partial=partial)
        given.is_valid(raise_exception=True)
        try:
            campaigns.campaign_update(scope=self.scope, campaign=campaign,
                                      **given.validated_data)
        except InvalidInput as exc:
            raise _field_errors(exc) from exc
        return Response(CrmCampaignSerializer(self.get_queryset().get(pk=campaign.pk)).data)

    @extend_schema(request=CrmCampaignWriteSerializer, responses=CrmCampaignSerializer)
    @answers(409)
    def partial_update(self, request: Request, pk: str | None = None) -> Response:
        return self.update(request, pk, partial=True)

    @answers(409)
    def destroy(self, request: Request, pk: str | None = None) -> Response:
        campaigns.campaign_delete(scope=self.scope, campaign=self.get_object())
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(parameters=_PERIOD, responses=_REPORT_RESPONSES)
    @action(detail=True, methods=["get"],
            renderer_classes=[renderers.JSONRenderer, CrmReportCsvRenderer])
    def report(self, request: Request, pk: str | None = None) -> Response | HttpResponse:
        """The campaign's retention table: per follow date, gained, still following,
        unfollowed, and unfollowed in the period (dates in the account's time zone)."""
        campaign = self.get_object()
        return report_response(request, scope=self.scope, campaign=campaign,
                               filename=f"campaign-{campaign.pk}")


class CrmQRCodeViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, ScopedViewSet):
    """Parametric QR codes of your accounts, newest first."""

    serializer_class = CrmQRCodeSerializer
    lookup_value_regex = r"[0-9]+"
    filter_backends: list = []

    def scoped_queryset(self, scope: Scope) -> QuerySet:
        query = campaigns.qrcode_list(scope=scope)
        wanted = self.request.query_params.get("campaign") if self.request else None
        if wanted:
            if not re.fullmatch(r"-?[0-9]+", wanted):
                raise serializers.ValidationError({"campaign": [_("A whole number.")]})
            # Any whole number is a campaign id to look for; none past an id's range.
            number = int(wanted)
            query = query.filter(campaign_id=number) if 0 < number < 2**63 else query.none()
        return query.order_by("-created_at", "-pk")

    @extend_schema(parameters=[OpenApiParameter(
        "campaign", OpenApiTypes.INT, description="Only this campaign's codes.")])
    def list(self, request: Request) -> Response:
        return super().list(request)

    @extend_schema(request=CrmQRCodeCreateSerializer, responses={201: CrmQRCodeSerializer})
    @answers(404, 409)
    def create(self, request: Request) -> Response:
        """Make a code on the platform (temporary: 1 to 30 days; permanent: a numeric
        scene 1..100000 or a text scene). 409 when WeChat refuses (the daily quota, 45009;
        the account's type or authorization) with its reason."""
        given = CrmQRCodeCreateSerializer(data=request.data)
        given.is_valid(raise_exception=True)
        data = given.validated_data
        campaign = access(campaigns.campaign_list(scope=self.scope), data["campaign"])
        account = access(self.scope.accounts(), data["account"])
        try:
            made = campaigns.qrcode_create(
                scope=self.scope, campaign=campaign, account=account, kind=data["kind"],
                scene=data["scene"], expires_in_days=data["expires_in_days"])
        except InvalidInput as exc:
            raise _field_errors(exc) from exc
        return Response(CrmQRCodeSerializer(made).data, status=status.HTTP_201_CREATED)

    @extend_schema(responses={(200, "image/png"): OpenApiResponse(
        OpenApiTypes.BINARY, description="1200 x 1200 px, error correction H")})
    # JSON first: an error (404, a bad query) answers JSON like every other operation;
    # the image itself is an HttpResponse of its own.
    @action(detail=True, methods=["get"], renderer_classes=[renderers.JSONRenderer,
                                                            CrmPngRenderer])
    def png(self, request: Request, pk: str | None = None) -> HttpResponse:
        """The code as a poster-size PNG, drawn from its URL."""
        code: QRCode = self.get_object()
        answer = HttpResponse(qr_poster_png(code.url or code.ticket), content_type="image/png")
        answer["Content-Disposition"] = f'attachment; filename="qrcode-{code.pk}.png"'
        return answer


class CrmCampaignReportViewSet(ScopedViewSet):
    """The brand-wide retention table: every campaign (and follows through none)."""

    serializer_class = CrmRetentionReportSerializer
    filter_backends: list = []
    pagination_class = None
    renderer_classes = [renderers.JSONRenderer, CrmReportCsvRenderer]

    def scoped_queryset(self, scope: Scope) -> QuerySet:
        return Campaign.objects.none()

    @extend_schema(parameters=_PERIOD, responses=_REPORT_RESPONSES)
    def list(self, request: Request) -> Response | HttpResponse:
        return report_response(request, scope=self.scope, campaign=None,
                               filename="campaign-report")


class CrmRetentionViewSet(ScopedViewSet):
    """The brand's personal-data retention: days after a customer's last unfollow until
    their personal profile fields are erased (0: never)."""

    serializer_class = CrmRetentionSettingSerializer
    filter_backends: list = []
    pagination_class = None

    def scoped_queryset(self, scope: Scope) -> QuerySet:
        return Campaign.objects.none()

    @extend_schema(responses=CrmRetentionSettingSerializer)
    def setting_read(self, request: Request) -> Response:
        """The brand's setting (30 days when it was never changed)."""
        return Response(CrmRetentionSettingSerializer(
            campaigns.crm_retention_for(scope=self.scope)).data)

    @extend_schema(request=CrmRetentionSettingSerializer, responses=CrmRetentionSettingSerializer)
    @answers(409)
    def setting_update(self, request: Request) -> Response:
        """Owners and admins of the whole brand; 409 for a member limited to some accounts."""
        given = CrmRetentionSettingSerializer(data=request.data, partial=True)
        given.is_valid(raise_exception=True)
        days = given.validated_data.get("erase_after_days")
        if days is None:
            return self.setting_read(request)
        try:
            row = campaigns.crm_retention_update(scope=self.scope, erase_after_days=days)
        except InvalidInput as exc:
            raise _field_errors(exc) from exc
        return Response(CrmRetentionSettingSerializer(row).data)


# The one setting of the brand is served at /api/v1/crm-retention/ itself, GET and PATCH:
# the router's list route maps only GET and POST, so `register_setting_route` gives the
# router one more route for viewsets with `setting_read`/`setting_update` (only this one).
SETTING_ROUTE = Route(
    url=r"^{prefix}{trailing_slash}$",
    mapping={"get": "setting_read", "patch": "setting_update"},
    name="{basename}-setting", detail=False, initkwargs={"suffix": "Setting"},
)


def register_setting_route(router: BaseRouter) -> None:
    routes = list(getattr(router, "routes", []))
    if SETTING_ROUTE not in routes:
        router.routes = [*routes, SETTING_ROUTE]  # type: ignore[attr-defined]
