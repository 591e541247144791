"""The routing map (/routing/map/) and the "what happens if" tester (/routing/tester/),
for brand admins and managers. Both only read: the map and the tester call the real
decision (routing.rules) on made-up facts."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone

from accounts import selectors
from accounts.scope import Scope
from accounts.views import member_required
from routing import map_layout, rules
from routing.map_forms import MapForm, TesterForm
from routing.simulate import simulate


def _today(scope: Scope):  # -> date
    return timezone.now().astimezone(ZoneInfo(scope.brand.time_zone)).date()


@member_required
def routing_map(request: HttpRequest, scope: Scope) -> HttpResponse:
    scope.require("teams.manage")
    form = MapForm(request.GET or None, initial={"day": _today(scope)})
    chosen = form.values(today=_today(scope))
    accounts = list(scope.accounts().order_by("-is_flagship", "name", "pk"))
    routes = map_layout.routes_for(brand_id=scope.brand_id, accounts=accounts, **chosen)
    picture = map_layout.picture(routes, rule_list=rules.active_rules(scope.brand_id),
                                 teams=list(selectors.team_list(scope=scope).order_by("name")))
    rows = [{"account": r.account,
             "routes": [{"route": route, "text": map_layout.describe(r.account, route)}
                        for route in r.routes]} for r in routes]
    return render(request, "routing/map.html", {
        "form": form, "chosen": chosen, "picture": picture, "rows": rows,
    })


@member_required
def routing_tester(request: HttpRequest, scope: Scope) -> HttpResponse:
    scope.require("teams.manage")
    accounts = scope.accounts().order_by("-is_flagship", "name", "pk")
    form = TesterForm(request.GET or None, accounts=accounts,
                      initial={"day": _today(scope)})
    answer = when = None
    if form.is_bound and form.is_valid():
        data = form.cleaned_data
        account = data["account"]
        at = datetime.combine(data["day"], data["at_time"], tzinfo=ZoneInfo(account.timezone))
        answer = simulate(scope=scope, account=account, text=data["text"], at=at,
                          first_contact=data["first_contact"], menu_key=data["menu_key"],
                          tags=data["tags"], attributes=data["attributes"])
        when = f"{at:%Y-%m-%d %H:%M}"
    return render(request, "routing/tester.html", {"form": form, "answer": answer,
                                                   "when": when})
