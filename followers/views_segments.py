"""Segment pages under /crm/segments/: the list, a segment's form with its live count and
first members, and its deletion. Every member sees them within the accounts they serve;
agents read but do not change (403 on a write)."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from accounts.errors import DomainError, InvalidInput, RoleRequired
from accounts.models import Role
from accounts.scope import Scope, access
from accounts.views import member_required
from accounts.views import show_refusal as _show
from followers import segments
from followers.forms_segments import SegmentForm
from followers.models import Segment
from followers.names import person_display_name

FIRST_MEMBERS = 20


def _refusal_on_form(form: SegmentForm, exc: DomainError) -> None:
    """A refused definition's parts beside the fields that built them."""
    if isinstance(exc, segments.DefinitionInvalid):
        for path, reasons in exc.fields.items():
            form.add_error(SegmentForm.field_for(path), reasons)
        return
    _show(form, exc)


@member_required
def segment_list_page(request: HttpRequest, scope: Scope) -> HttpResponse:
    rows = segments.segment_list(scope=scope)
    return render(request, "followers/segments/list.html", {
        "segments": rows, "can_change": scope.role != Role.AGENT})


def _members(scope: Scope, segment: Segment) -> list[dict]:
    followers = segments.segment_members(scope=scope, segment=segment).select_related(
        "account", "customer").order_by("id")[:FIRST_MEMBERS]
    return [{"follower": f, "name": person_display_name(customer=f.customer, follower=f)}
            for f in followers]


def _segment_form(request: HttpRequest, scope: Scope, segment: Segment | None) -> HttpResponse:
    can_change = scope.role != Role.AGENT
    initial = SegmentForm.initial_for(segment) if segment else {}
    form = SegmentForm(request.POST or None, scope=scope, initial=initial)
    if request.method == "POST":
        if not can_change:
            raise RoleRequired(_("Agents can use segments; a manager or admin changes them."))
        if form.is_valid():
            try:
                if segment is None:
                    segment = segments.segment_create(scope=scope, name=form.cleaned_data[
                        "name"], definition=form.definition())
                else:
                    segments.segment_update(scope=scope, segment=segment,
                                            name=form.cleaned_data["name"],
                                            definition=form.definition())
            except DomainError as exc:
                _refusal_on_form(form, exc)
            else:
                messages.success(request, _("Segment saved."))
                return redirect("crm_segment", pk=segment.pk)
    if not can_change:
        for field in form.fields.values():
            field.disabled = True
    counted = None
    if segment is not None and not form.is_bound:
        counted = segments.segment_recount(scope=scope, segment=segment)
    return render(request, "followers/segments/form.html", {
        "form": form, "segment": segment, "can_change": can_change, "counted": counted,
        "members": _members(scope, segment) if segment is not None else [],
    })


@member_required
def segment_new(request: HttpRequest, scope: Scope) -> HttpResponse:
    if scope.role == Role.AGENT:
        raise RoleRequired(_("Agents can use segments; a manager or admin changes them."))
    return _segment_form(request, scope, None)


@member_required
def segment_detail(request: HttpRequest, scope: Scope, pk: int) -> HttpResponse:
    segment = access(segments.segment_list(scope=scope), pk)
    return _segment_form(request, scope, segment)


@require_POST
@member_required
def segment_count_page(request: HttpRequest, scope: Scope) -> JsonResponse:
    """The form's live count: the form as it is now, counted within the member's
    accounts, in JSON. A refused part answers 400 with each message by field."""
    form = SegmentForm(request.POST, scope=scope)
    form.is_valid()
    # The name is not part of what is counted.
    errors = {name: [str(e) for e in errs] for name, errs in form.errors.items()
              if name != "name"}
    if not errors:
        try:
            clean = segments.definition_clean(scope=scope, definition=form.definition())
        except InvalidInput as exc:
            errors = {SegmentForm.field_for(path) or "__all__": reasons
                      for path, reasons in exc.fields.items()} or {"__all__": [exc.message]}
    if errors:
        return JsonResponse({"errors": errors}, status=400)
    counted = segments.segment_count(scope=scope, definition=clean)
    return JsonResponse({"followers": counted.followers, "customers": counted.customers,
                         "ms": counted.ms})


@member_required
def segment_delete_page(request: HttpRequest, scope: Scope, pk: int) -> HttpResponse:
    """GET asks for confirmation; POST deletes."""
    segment = access(segments.segment_list(scope=scope), pk)
    if scope.role == Role.AGENT:
        raise RoleRequired(_("Agents can use segments; a manager or admin changes them."))
    if request.method == "POST":
        segments.segment_delete(scope=scope, segment=segment)
        messages.success(request, _("Segment deleted."))
        return redirect("crm_segments")
    return render(request, "followers/segments/delete.html", {"segment": segment})
