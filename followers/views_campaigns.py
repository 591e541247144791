"""The QR campaigns page (/crm/campaigns/): the campaigns with their follows and scans,
making a campaign and a QR code, each code's poster PNG, the retention table for a
chosen period (and its CSV), and the brand's personal-data retention setting."""

from __future__ import annotations

from datetime import date

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from rest_framework.exceptions import ValidationError

from accounts.errors import Conflict, InvalidInput
from accounts.scope import Scope, access
from accounts.views import member_required
from followers import campaigns, retention
from followers.api_campaigns import period_of
from followers.models import Campaign, QRCode
from followers.qr_images import qr_poster_png


def _period(request: HttpRequest, scope: Scope) -> tuple[date, date, str]:
    try:
        date_from, date_to = period_of(request.GET, scope=scope)
        return date_from, date_to, ""
    except ValidationError as exc:
        date_from, date_to = period_of({}, scope=scope)
        detail = exc.detail
        text = " ".join(str(m) for msgs in detail.values() for m in msgs) if isinstance(
            detail, dict) else str(detail)
        return date_from, date_to, text


def _int(value: str | None) -> int | None:
    return int(value) if value and value.isdigit() else None


def _post(request: HttpRequest, scope: Scope) -> None:
    what = request.POST.get("action")
    if what == "campaign":
        campaigns.campaign_create(scope=scope, name=request.POST.get("name", ""),
                                  channel=request.POST.get("channel", "other"))
        messages.success(request, _("Campaign created."))
    elif what == "qrcode":
        campaign = access(campaigns.campaign_list(scope=scope), request.POST.get("campaign"))
        account = access(scope.accounts(), request.POST.get("account"))
        kind = request.POST.get("kind", "")
        days = _int(request.POST.get("expires_in_days")) if kind == "temporary" else None
        code = campaigns.qrcode_create(scope=scope, campaign=campaign, account=account,
                                       kind=kind, scene=request.POST.get("scene", ""),
                                       expires_in_days=days)
        messages.success(request, _("QR code %(scene)s created.") % {"scene": code.scene})
    elif what == "retention":
        days = _int(request.POST.get("erase_after_days"))
        if days is None:
            messages.error(request, _("Give 0 (never) to 3650 days."))
            return
        campaigns.crm_retention_update(scope=scope, erase_after_days=days)
        messages.success(request, _("Retention setting saved."))


@member_required
def campaigns_page(request: HttpRequest, scope: Scope) -> HttpResponse:
    if request.method == "POST":
        try:
            _post(request, scope)
        except (InvalidInput, Conflict) as exc:
            messages.error(request, exc.message)
        return redirect(reverse("crm_campaigns") + (
            f"?{request.GET.urlencode()}" if request.GET else ""))
    date_from, date_to, period_error = _period(request, scope)
    chosen = None
    wanted = _int(request.GET.get("campaign"))
    if wanted is not None:
        chosen = campaigns.campaign_list(scope=scope).filter(pk=wanted).first()
    lost_only = request.GET.get("lost_only") == "1"
    rows = retention.retention_table(scope=scope, date_from=date_from, date_to=date_to,
                                     campaign=chosen, lost_only=lost_only)
    return render(request, "followers/campaigns/campaigns.html", {
        "campaigns": campaigns.campaign_list_with_counts(scope=scope),
        "qrcodes": campaigns.qrcode_list(scope=scope).select_related("campaign", "account")[:200],
        "accounts": scope.accounts().order_by("name"),
        "channels": Campaign.Channel.choices,
        "kinds": QRCode.Kind.choices,
        "can_change": scope.can("teams.manage"),
        "can_set_retention": scope.can("accounts.manage") and scope.is_brand_wide,
        "retention_setting": campaigns.crm_retention_for(scope=scope),
        "rows": rows, "totals": retention.retention_totals(rows),
        "date_from": date_from, "date_to": date_to, "period_error": period_error,
        "chosen": chosen, "lost_only": lost_only,
        "query": request.GET.urlencode(),
    })


@member_required
def campaign_report_csv(request: HttpRequest, scope: Scope) -> HttpResponse:
    date_from, date_to, _error = _period(request, scope)
    chosen = None
    wanted = _int(request.GET.get("campaign"))
    if wanted is not None:
        chosen = access(campaigns.campaign_list(scope=scope), wanted)
    rows = retention.retention_table(scope=scope, date_from=date_from, date_to=date_to,
                                     campaign=chosen,
                                     lost_only=request.GET.get("lost_only") == "1")
    answer = HttpResponse(retention.retention_csv(rows), content_type="text/csv; charset=utf-8")
    answer["Content-Disposition"] = (
        f'attachment; filename="campaign-report-{date_from}-{date_to}.csv"')
    return answer


@member_required
def qrcode_png(request: HttpRequest, scope: Scope, pk: int) -> HttpResponse:
    code = access(campaigns.qrcode_list(scope=scope), pk)
    answer = HttpResponse(qr_poster_png(code.url or code.ticket), content_type="image/png")
    answer["Content-Disposition"] = f'attachment; filename="qrcode-{code.pk}.png"'
    return answer
