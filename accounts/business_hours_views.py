"""The business-hours page: every schedule of the brand, one schedule's form, closures."""

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from accounts import business_hours, selectors
from accounts.business_hours_forms import BusinessHoursForm, ClosureForm
from accounts.scope import Scope, access
from accounts.views import member_required


def _rows(scope: Scope) -> list[dict]:
    """One row per account and team the member sees, with its hours and state now."""
    now = timezone.now()
    schedules = list(business_hours.schedule_list(scope=scope))
    by_account = {s.account_id: s for s in schedules if s.account_id}
    by_team = {s.team_id: s for s in schedules if s.team_id}
    rows = []
    for account in scope.accounts().order_by("name"):
        hours = by_account.get(account.pk)
        rows.append({"kind": "account", "name": account.name, "pk": account.pk,
                     "hours": hours, "state": hours and business_hours.state_of(hours, now)})
    for team in selectors.team_list(scope=scope):
        hours = by_team.get(team.pk)
        rows.append({"kind": "team", "name": team.name, "pk": team.pk,
                     "hours": hours, "state": hours and business_hours.state_of(hours, now)})
    return rows


@member_required
def business_hours_page(request: HttpRequest, scope: Scope) -> HttpResponse:
    form = ClosureForm(request.POST or None, accounts=scope.accounts())
    if request.method == "POST":
        scope.require("business_hours.manage")
        if form.is_valid():
            business_hours.closure_create(
                scope=scope, name=form.cleaned_data["name"],
                starts_on=form.cleaned_data["starts_on"], ends_on=form.cleaned_data["ends_on"],
                accounts=list(form.cleaned_data["accounts"]))
            messages.success(request, _("Closure added."))
            return redirect("business_hours")
    return render(request, "accounts/business_hours.html", {
        "rows": _rows(scope), "closures": business_hours.closure_list(scope=scope),
        "form": form, "calendar_note": business_hours.calendar_note(timezone.localdate()),
        "can_manage": scope.can("business_hours.manage"),
    })


def _edit(request: HttpRequest, scope: Scope, *, account=None, team=None) -> HttpResponse:
    scope.require("business_hours.manage")
    schedule = business_hours.schedule_for(account=account, team=team)
    inherited = account.timezone if account is not None else scope.brand.time_zone
    form = BusinessHoursForm(request.POST or None, inherited_zone=inherited,
                             initial=BusinessHoursForm.initial_for(schedule))
    if request.method == "POST" and form.is_valid():
        business_hours.hours_save(
            scope=scope, account=account, team=team, week=form.cleaned_data["week"],
            time_zone=form.cleaned_data["time_zone"],
            observe_cn_holidays=form.cleaned_data["observe_cn_holidays"])
        messages.success(request, _("Business hours saved."))
        return redirect("business_hours")
    return render(request, "accounts/business_hours_form.html", {
        "form": form, "subject": account or team, "schedule": schedule,
        "state": schedule and business_hours.state_of(schedule, timezone.now()),
        "calendar_note": business_hours.calendar_note(timezone.localdate()),
    })


@member_required
def account_hours(request: HttpRequest, scope: Scope, pk: int) -> HttpResponse:
    return _edit(request, scope, account=access(scope.accounts(), pk))


@member_required
def team_hours(request: HttpRequest, scope: Scope, pk: int) -> HttpResponse:
    return _edit(request, scope, team=access(selectors.team_list(scope=scope), pk))


@require_POST
@member_required
def hours_remove(request: HttpRequest, scope: Scope, pk: int) -> HttpResponse:
    schedule = access(business_hours.schedule_list(scope=scope), pk)
    business_hours.hours_delete(scope=scope, schedule=schedule)
    messages.success(request, _("Business hours removed."))
    return redirect("business_hours")


@require_POST
@member_required
def closure_remove(request: HttpRequest, scope: Scope, pk: int) -> HttpResponse:
    closure = access(business_hours.closure_list(scope=scope), pk)
    business_hours.closure_delete(scope=scope, closure=closure)
    messages.success(request, _("Closure removed."))
    return redirect("business_hours")
