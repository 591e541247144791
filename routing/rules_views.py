"""Brand admins' routing pages: the ordered rules (up and down buttons that work without
JavaScript, and drag to reorder), a rule's form, the brand's routing settings and each
team's response-time targets. Agents get 403; the services decide what a manager may
change (routing.rules_admin)."""

from __future__ import annotations

import json

from django.contrib import messages
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from accounts import selectors
from accounts.errors import DomainError, InvalidInput, RoleRequired
from accounts.scope import Scope, access
from accounts.views import member_required
from accounts.views import show_refusal as _show
from routing import rules_admin
from routing.brand_settings import settings_for
from routing.rules_forms import RoutingSettingsForm, RuleForm, TargetsForm
from routing.serializers_rules import targets_of


@member_required
def rules_page(request: HttpRequest, scope: Scope) -> HttpResponse:
    scope.require("teams.manage")
    rules = list(rules_admin.rule_list(scope=scope).order_by("position", "pk"))
    rows = [{"rule": r, "summary": rules_admin.rule_summary(r),
             "can_change": rules_admin.rule_within_reach(scope=scope, rule=r)} for r in rules]
    return render(request, "routing/rules.html", {"rows": rows})


def _rule_form(request: HttpRequest, scope: Scope, rule=None) -> HttpResponse:  # noqa: ANN001
    initial = RuleForm.initial_for(rule) if rule else {"is_active": True, "action": "team"}
    form = RuleForm(request.POST or None, scope=scope, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            if rule is None:
                rules_admin.rule_create(scope=scope, **form.service_input())
            else:
                rules_admin.rule_update(scope=scope, rule=rule, **form.service_input())
        except DomainError as exc:
            _show(form, exc)
        else:
            messages.success(request, _("Rule saved."))
            return redirect("routing_rules")
    return render(request, "routing/rule_form.html", {"form": form, "rule": rule})


@member_required
def rule_new(request: HttpRequest, scope: Scope) -> HttpResponse:
    scope.require("teams.manage")
    return _rule_form(request, scope)


@member_required
def rule_edit(request: HttpRequest, scope: Scope, pk: int) -> HttpResponse:
    rule = access(rules_admin.rule_list(scope=scope), pk)
    scope.require("teams.manage")
    if not rules_admin.rule_within_reach(scope=scope, rule=rule):
        raise RoleRequired(_("This rule can match accounts you do not manage; an owner or "
                             "admin can change it."))
    return _rule_form(request, scope, rule)


@member_required
def rule_delete(request: HttpRequest, scope: Scope, pk: int) -> HttpResponse:
    """GET asks for confirmation; POST deletes."""
    rule = access(rules_admin.rule_list(scope=scope), pk)
    scope.require("teams.manage")
    if request.method == "GET":
        return render(request, "routing/rules_delete.html", {
            "rule": rule, "summary": rules_admin.rule_summary(rule)})
    rules_admin.rule_delete(scope=scope, rule=rule)
    messages.success(request, _("Rule deleted."))
    return redirect("routing_rules")


@require_POST
@member_required
def rule_move(request: HttpRequest, scope: Scope, pk: int) -> HttpResponse:
    rule = access(rules_admin.rule_list(scope=scope), pk)
    try:
        rules_admin.rule_move(scope=scope, rule=rule,
                              direction=request.POST.get("direction", ""))
    except InvalidInput as exc:
        messages.error(request, exc.message)
    return redirect(f"{reverse('routing_rules')}#rule-{rule.pk}")


@require_POST
@member_required
def rules_reorder(request: HttpRequest, scope: Scope) -> HttpResponse:
    """The drag and drop's save: {"ids": [...]} as JSON, answered in JSON."""
    try:
        ids = json.loads(request.body or b"{}").get("ids")
    except (ValueError, AttributeError):
        ids = None
    if not isinstance(ids, list):
        return JsonResponse({"detail": _("Give the rules' ids in their new order.")},
                            status=400)
    try:
        rules = rules_admin.rules_reorder(scope=scope, ids=ids)
    except InvalidInput as exc:
        return JsonResponse({"detail": exc.message}, status=409)
    except RoleRequired as exc:
        return JsonResponse({"detail": exc.message}, status=403)
    return JsonResponse({"ids": [r.pk for r in rules]})


@member_required
def settings_page(request: HttpRequest, scope: Scope) -> HttpResponse:
    scope.require("teams.manage")
    row = settings_for(scope.brand_id)
    can_change = scope.is_brand_wide
    form = RoutingSettingsForm(request.POST or None, instance=row)
    if not can_change:
        for field in form.fields.values():
            field.disabled = True
    if request.method == "POST":
        if not can_change:
            raise RoleRequired(_("Routing settings apply to every account of the brand; an "
                                 "owner or admin can change them."))
        if form.is_valid():
            fields = {name: form.cleaned_data[name] for name in rules_admin.SETTINGS_FIELDS}
            try:
                rules_admin.settings_update(scope=scope, **fields)
            except DomainError as exc:
                _show(form, exc)
            else:
                messages.success(request, _("Routing settings saved."))
                return redirect("routing_settings")
    return render(request, "routing/settings.html", {"form": form, "can_change": can_change})


@member_required
def targets_page(request: HttpRequest, scope: Scope) -> HttpResponse:
    scope.require("teams.manage")
    teams = list(selectors.team_list(scope=scope).select_related("targets").order_by("name"))
    posted_team = None
    if request.method == "POST":
        posted_team = access(selectors.team_list(scope=scope), request.POST.get("team"))
    rows = []
    for team in teams:
        targets = targets_of(team)
        initial = {"first_response_minutes": targets and targets.first_response_minutes,
                   "next_response_minutes": targets and targets.next_response_minutes}
        posted = posted_team is not None and posted_team.pk == team.pk
        form = TargetsForm(request.POST if posted else None, initial=initial,
                           prefix=f"team-{team.pk}")
        for field in form.fields.values():
            # The inputs sit in their columns; the row's form is in its last cell.
            field.widget.attrs["form"] = f"targets-form-{team.pk}"
        rows.append({"team": team, "form": form, "targets": targets,
                     "can_change": rules_admin.team_within_reach(scope=scope, team=team)})
        if posted and form.is_valid():
            try:
                rules_admin.targets_update(
                    scope=scope, team=team,
                    first=form.cleaned_data["first_response_minutes"],
                    next=form.cleaned_data["next_response_minutes"])
            except DomainError as exc:
                _show(form, exc)
            else:
                messages.success(request, _("Targets of %(team)s saved.") % {"team": team.name})
                return redirect(f"{request.path}#team-{team.pk}")
    return render(request, "routing/targets.html", {"rows": rows})
