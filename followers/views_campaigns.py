"""The QR campaigns pages under /crm/campaigns/: the list (the campaigns with their follows
and scans, making a campaign and a QR code, each code's poster PNG, the retention table for
a chosen period and its CSV, the brand's personal-data retention setting), a campaign's
page (its name and channel, counts, codes and retention table) and the confirmations that
delete a campaign or a code."""

from __future__ import annotations

from datetime import date
from urllib.parse import urlencode

from django.contrib import messages
from django.db.models import Count, Q, QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods
from rest_framework.exceptions import ValidationError

from accounts.errors import Conflict, InvalidInput
from accounts.scope import Scope, access
from accounts.views import member_required
from followers import campaigns, retention
from followers.api_campaigns import period_of
from followers.models import Campaign, FollowEvent, QRCode
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


def _campaign_codes(scope: Scope, campaign: Campaign) -> QuerySet[QRCode]:
    """The campaign's codes on the accounts in scope, each with its follows and scans (a
    code's events are on its own account)."""
    return campaigns.qrcode_list(scope=scope).filter(campaign=campaign).select_related(
        "account").annotate(
        follows=Count("events", filter=Q(events__kind=FollowEvent.Kind.FOLLOW)),
        scans=Count("events", filter=Q(events__kind=FollowEvent.Kind.SCAN)),
    ).order_by("account__name", "scene")


@member_required
def campaign_page(request: HttpRequest, scope: Scope, pk: int) -> HttpResponse:
    """GET: the campaign with its counts, codes and retention table for a period. POST:
    its new name and channel (owners, admins and managers)."""
    campaign = access(campaigns.campaign_list(scope=scope), pk)
    if request.method == "POST":
        try:
            campaigns.campaign_update(scope=scope, campaign=campaign,
                                      name=request.POST.get("name", ""),
                                      channel=request.POST.get("channel", campaign.channel))
        except (InvalidInput, Conflict) as exc:
            messages.error(request, exc.message)
        else:
            messages.success(request, _("Campaign saved."))
        return redirect(request.get_full_path())
    date_from, date_to, period_error = _period(request, scope)
    lost_only = request.GET.get("lost_only") == "1"
    rows = retention.retention_table(scope=scope, date_from=date_from, date_to=date_to,
                                     campaign=campaign, lost_only=lost_only)
    report = {"campaign": campaign.pk, "from": date_from.isoformat(),
              "to": date_to.isoformat(), **({"lost_only": "1"} if lost_only else {})}
    return render(request, "followers/campaigns/campaign.html", {
        "campaign": campaign,
        "counts": campaigns.campaign_counts(scope=scope, campaign=campaign),
        "qrcodes": _campaign_codes(scope, campaign),
        "channels": Campaign.Channel.choices,
        "can_change": scope.can("teams.manage"),
        "now": timezone.now(),
        "rows": rows, "totals": retention.retention_totals(rows),
        "date_from": date_from, "date_to": date_to, "period_error": period_error,
        "lost_only": lost_only, "csv_query": urlencode(report),
    })


@member_required
@require_http_methods(["GET", "POST"])
def campaign_delete_page(request: HttpRequest, scope: Scope, pk: int) -> HttpResponse:
    """GET asks for confirmation; POST deletes the campaign and its codes, or says why
    not on the campaign's page."""
    campaign = access(campaigns.campaign_list(scope=scope), pk)
    scope.require("teams.manage")
    if request.method == "GET":
        return render(request, "followers/campaigns/campaign_delete.html", {
            "campaign": campaign,
            "counts": campaigns.campaign_counts(scope=scope, campaign=campaign)})
    try:
        campaigns.campaign_delete(scope=scope, campaign=campaign)
    except (InvalidInput, Conflict) as exc:
        messages.error(request, exc.message)
        return redirect("crm_campaign", pk=campaign.pk)
    messages.success(request, _("Campaign %(name)s deleted.") % {"name": campaign.name})
    return redirect("crm_campaigns")


@member_required
@require_http_methods(["GET", "POST"])
def qrcode_delete_page(request: HttpRequest, scope: Scope, pk: int) -> HttpResponse:
    """GET asks for confirmation; POST forgets the code here (the platform keeps it)."""
    code = access(campaigns.qrcode_list(scope=scope).select_related("campaign", "account"),
                  pk)
    scope.require("teams.manage")
    if request.method == "GET":
        return render(request, "followers/campaigns/qrcode_delete.html", {"code": code})
    campaigns.qrcode_delete(scope=scope, qrcode=code)
    messages.success(request, _("QR code %(scene)s deleted.") % {"scene": code.scene})
    return redirect("crm_campaign", pk=code.campaign_id)
