"""The customer pages under /crm/: the list with search, and one customer's page (every
account they follow and since when, the QR campaign that brought them, tags, attributes,
the profile form, one timeline across accounts with their conversations, duplicate
suggestions, a merge form and the merge history with Unmerge). In messaging, since the
timeline reads conversations."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from accounts.errors import InvalidInput
from accounts.scope import Scope, access
from accounts.views import member_required
from followers.attributes import attribute_list
from followers.customers import customer_update
from followers.duplicates import duplicate_suggestions, suggestion_dismiss
from followers.merge import customer_merge, customer_unmerge
from followers.models import Customer
from followers.names import person_display_name
from followers.selectors_identity import (
    customer_followers,
    customer_list,
    customer_scope,
    merge_list,
)
from messaging.customer_forms import CustomerProfileForm
from messaging.customer_timeline import customer_timeline

PAGE = 50


def _name(scope: Scope, customer: Customer) -> str:
    first = customer_followers(scope=scope, customer=customer).first()
    return person_display_name(customer=customer, follower=first)


@member_required
def customer_list_page(request: HttpRequest, scope: Scope) -> HttpResponse:
    q = request.GET.get("q", "").strip()[:100]
    try:
        page = max(int(request.GET.get("page", "1")), 1)
    except ValueError:
        page = 1
    rows = list(customer_list(scope=scope, q=q).prefetch_related("followers__account")
                [(page - 1) * PAGE: page * PAGE + 1])
    has_next = len(rows) > PAGE
    rows = rows[:PAGE]
    listed = []
    for c in rows:
        followers = [f for f in c.followers.all() if scope.serves(f.account_id)]
        listed.append({
            "customer": c,
            "name": person_display_name(customer=c, follower=followers[0] if followers else None),
            "accounts": sorted({f.account.name for f in followers}),
        })
    return render(request, "messaging/customer/list.html", {
        "rows": listed, "q": q, "page": page, "has_next": has_next,
        "can_import": scope.role in ("owner", "admin")})


def _detail_context(request: HttpRequest, scope: Scope, customer: Customer,
                    form: CustomerProfileForm | None = None) -> dict:
    attributes = list(attribute_list(scope=scope))
    form = form or CustomerProfileForm(customer=customer, attributes=attributes)
    followers = list(customer_followers(scope=scope, customer=customer))
    tags = sorted({t.name for f in followers for t in f.tags.all()})
    values = customer.attributes or {}
    merge_q = request.GET.get("merge_q", "").strip()[:100]
    candidates = []
    if merge_q:
        for c in customer_list(scope=scope, q=merge_q).exclude(pk=customer.pk)[:10]:
            candidates.append({"customer": c, "name": _name(scope, c)})
    suggestions = []
    if customer.merged_into_id is None:
        for s in duplicate_suggestions(scope=scope, customer=customer, limit=20):
            other_id = s.high if s.low == customer.pk else s.low
            other = customer_scope(scope=scope).filter(pk=other_id).first()
            if other is not None:
                suggestions.append({"other": other, "name": _name(scope, other),
                                    "reason": s.reason, "value": s.value})
    return {
        "customer": customer, "name": _name(scope, customer), "followers": followers,
        "tags": tags, "form": form,
        "attributes": [{"label": a.label, "value": values.get(a.key, "")} for a in attributes],
        "extra_attributes": {k: v for k, v in values.items()
                             if k not in {a.key for a in attributes}},
        "timeline": customer_timeline(scope=scope, customer=customer),
        "merges": list(merge_list(scope=scope, customer=customer)),
        "merge_q": merge_q, "candidates": candidates, "suggestions": suggestions,
    }


@member_required
def customer_detail_page(request: HttpRequest, scope: Scope, pk: int) -> HttpResponse:
    customer = access(customer_scope(scope=scope), pk)
    form = None
    if request.method == "POST":
        form = CustomerProfileForm(request.POST, customer=customer,
                                   attributes=list(attribute_list(scope=scope)))
        if form.is_valid():
            profile, attributes = form.service_input()
            try:
                customer_update(customer=customer, by=scope.membership, profile=profile,
                                attributes=attributes)
            except InvalidInput as exc:
                form.add_service_errors(exc.fields, exc.message)
            else:
                messages.success(request, _("Profile saved."))
                return redirect("crm_customer", pk=customer.pk)
    status = 400 if form is not None else 200
    return render(request, "messaging/customer/detail.html",
                  _detail_context(request, scope, customer, form), status=status)


@member_required
def customer_merge_page(request: HttpRequest, scope: Scope, pk: int) -> HttpResponse:
    """GET ?other=<id> asks to confirm merging that customer into this one; POST merges."""
    keep = access(customer_scope(scope=scope), pk)
    other_id = request.POST.get("other") if request.method == "POST" else request.GET.get(
        "other")
    if not other_id:
        messages.error(request, _("Choose the customer to merge into this one."))
        return redirect("crm_customer", pk=keep.pk)
    other = access(customer_scope(scope=scope), other_id)
    if request.method == "GET":
        return render(request, "messaging/customer/merge_confirm.html", {
            "keep": keep, "keep_name": _name(scope, keep), "other": other,
            "other_name": _name(scope, other),
            "other_followers": list(customer_followers(scope=scope, customer=other))})
    try:
        record = customer_merge(keep=keep, merge=other, by=scope.membership)
    except InvalidInput as exc:
        messages.error(request, exc.message)
        return redirect("crm_customer", pk=keep.pk)
    messages.success(request, _("Customer #%(other)s was merged into this customer.")
                     % {"other": other.pk})
    return redirect(f"{reverse('crm_customer', args=[keep.pk])}#merge-{record.pk}")


@require_POST
@member_required
def customer_dismiss_page(request: HttpRequest, scope: Scope, pk: int) -> HttpResponse:
    customer = access(customer_scope(scope=scope), pk)
    other = access(customer_scope(scope=scope), request.POST.get("other"))
    try:
        suggestion_dismiss(scope=scope, a=customer, b=other, by=scope.membership)
    except InvalidInput as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("Not a duplicate: the pair will not be suggested again."))
    return redirect("crm_customer", pk=customer.pk)


@require_POST
@member_required
def customer_unmerge_page(request: HttpRequest, scope: Scope, pk: int) -> HttpResponse:
    record = access(merge_list(scope=scope), pk)
    try:
        customer_unmerge(merge_record=record, by=scope.membership)
    except InvalidInput as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("Unmerged: customer #%(merged)s is separate again.")
                         % {"merged": record.merged_id})
    return redirect("crm_customer", pk=record.kept_id)
