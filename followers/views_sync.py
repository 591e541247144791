"""Brand pages of the CRM's sync part: the follower list (filters, search, keyset pages)
and, per account, a "Sync followers" button with the job's progress (static/crm/sync.js
polls the REST progress every 2 s while a job is under way)."""

from __future__ import annotations

from urllib.parse import urlencode

from django.contrib import messages
from django.db.models import F, Window
from django.db.models.functions import RowNumber
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from accounts.errors import Conflict, InvalidInput
from accounts.scope import Scope
from accounts.views import member_required
from followers import selectors_sync, sync
from followers.models import Tag
from followers.models_sync import FollowerSync
from followers.names import language_name, person_display_name


def _sync_rows(scope: Scope) -> list[dict]:
    """Each served account with its latest sync."""
    accounts = list(scope.accounts().order_by("name", "pk"))
    # Each account's newest job: the first by row number in its account (any database).
    newest_first = Window(RowNumber(), partition_by=[F("account_id")],
                          order_by=[F("created_at").desc(), F("id").desc()])
    latest: dict[int, FollowerSync] = {
        job.account_id: job
        for job in sync.follower_sync_list(scope=scope)
        .filter(account_id__in=[a.pk for a in accounts])
        .annotate(newest=newest_first).filter(newest=1).order_by()
    }
    rows = []
    for account in accounts:
        job = latest.get(account.pk)
        rows.append({"account": account, "job": job,
                     "percent": sync.sync_progress(job)["percent"] if job else 0,
                     "active": bool(job and job.status in FollowerSync.ACTIVE)})
    return rows


@member_required
def followers_page(request: HttpRequest, scope: Scope) -> HttpResponse:
    try:
        filters = selectors_sync.follower_filters_from(request.GET)
    except InvalidInput:
        filters = selectors_sync.follower_filters_from({})
        messages.error(request, _("Some filters were not valid and were left out."))
    page = selectors_sync.follower_page(scope=scope, filters=filters)
    rows = [{"follower": f, "name": person_display_name(customer=f.customer, follower=f),
             "language": language_name(f.language)} for f in page.rows]
    next_url = ("?" + urlencode({**filters.given, "after": page.next_after})
                if page.next_after else "")
    first_url = "?" + urlencode(filters.given) if filters.after else ""
    return render(request, "followers/sync/followers.html", {
        "rows": rows, "page": page, "filters": filters, "next_url": next_url,
        "first_url": first_url,
        "accounts": scope.accounts().order_by("name", "pk"),
        "tags": Tag.objects.filter(brand_id=scope.brand_id).order_by("name"),
        "sync_rows": _sync_rows(scope),
        "can_sync": scope.role in sync.STARTERS,
        "kinds": FollowerSync.Kind.choices,
    })


@require_POST
@member_required
def follower_sync_start_view(request: HttpRequest, scope: Scope) -> HttpResponse:
    try:
        sync.follower_sync_start(scope=scope, account_id=request.POST.get("account"),
                                 kind=request.POST.get("kind") or FollowerSync.Kind.FULL)
    except (Conflict, InvalidInput) as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("Sync started."))
    return redirect("crm_followers")
