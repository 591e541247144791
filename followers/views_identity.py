"""The CRM's identity pages outside the customer page: the CSV import (upload, the dry
run's table, confirm) and the streamed CSV exports."""

from __future__ import annotations

import secrets

from django import forms
from django.contrib import messages
from django.core.cache import cache
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from accounts.errors import InvalidInput, RoleRequired
from accounts.scope import Scope
from accounts.views import member_required
from followers.csv_import import IMPORT_ROLES, MAX_BYTES, csv_export_rows, csv_import

PENDING_SECONDS = 3600


class ImportForm(forms.Form):
    kind = forms.ChoiceField(label=gettext_lazy("What the file holds"), choices=[
        ("customers", gettext_lazy("Customers")), ("followers", gettext_lazy("Followers"))])
    file = forms.FileField(label=gettext_lazy("CSV file (UTF-8)"))


def _pending_key(scope: Scope, token: str) -> str:
    member = scope.membership.pk if scope.membership else 0
    return f"crm-import:{scope.brand_id}:{member}:{token}"


@member_required
def import_page(request: HttpRequest, scope: Scope) -> HttpResponse:
    """POST a file: the dry run's report (nothing written). POST confirm with the token of
    that dry run: the import, all rows or none."""
    if scope.role not in IMPORT_ROLES:
        raise RoleRequired(_("Owners and admins import customers and followers."))
    form = ImportForm()
    report = token = None
    if request.method == "POST" and request.POST.get("confirm"):
        token = request.POST.get("token", "")
        pending = cache.get(_pending_key(scope, token)) if token else None
        if pending is None:
            messages.error(request, _("This dry run has expired; upload the file again."))
            return redirect("crm_import")
        try:
            report = csv_import(scope=scope, by=scope.membership, kind=pending["kind"],
                                content=pending["content"], dry_run=False)
        except InvalidInput as exc:
            messages.error(request, exc.message)
            return redirect("crm_import")
        cache.delete(_pending_key(scope, token))
        if report.imported:
            messages.success(request, _("Imported: %(new)s new, %(update)s changed, "
                                        "%(skip)s unchanged.") % report.totals)
            return redirect("crm_import")
        messages.error(request, _("Nothing was imported: rows were rejected."))
        token = None
    elif request.method == "POST":
        form = ImportForm(request.POST, request.FILES)
        if form.is_valid():
            upload = form.cleaned_data["file"]
            if upload.size > MAX_BYTES:
                form.add_error("file", _("The file is larger than 20 MB; split it."))
            else:
                content = upload.read()
                kind = form.cleaned_data["kind"]
                try:
                    report = csv_import(scope=scope, by=scope.membership, kind=kind,
                                        content=content, dry_run=True)
                except InvalidInput as exc:
                    form.add_error("file", exc.message)
                else:
                    if not report.rejected:
                        token = secrets.token_urlsafe(16)
                        cache.set(_pending_key(scope, token),
                                  {"kind": kind, "content": content,
                                   "at": timezone.now().isoformat()}, PENDING_SECONDS)
    return render(request, "followers/identity/import.html",
                  {"form": form, "report": report, "token": token})


def _export(scope: Scope, kind: str) -> StreamingHttpResponse:
    response = StreamingHttpResponse(csv_export_rows(scope=scope, kind=kind),
                                     content_type="text/csv; charset=utf-8")
    stamp = timezone.now().strftime("%Y%m%d")
    response["Content-Disposition"] = f'attachment; filename="{kind}-{stamp}.csv"'
    return response


@member_required
def export_customers(request: HttpRequest, scope: Scope) -> StreamingHttpResponse:
    return _export(scope, "customers")


@member_required
def export_followers(request: HttpRequest, scope: Scope) -> StreamingHttpResponse:
    return _export(scope, "followers")
