"""The customer attribute definitions page (/crm/attributes/): the brand's attributes (key,
label, kind, choices), a new one, and each one's edit and deletion. Every member reads
them; owners and admins change them (the services refuse anyone else, and refuse a
definition that is not valid). The values are edited on each customer's page."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, pgettext_lazy
from django.views.decorators.http import require_http_methods

from accounts.errors import DomainError, RoleRequired
from accounts.scope import Scope, access
from accounts.views import member_required
from accounts.views import show_refusal as _show
from followers import attributes
from followers.models import CustomerAttribute


class AttributeForm(forms.Form):
    key = forms.CharField(
        label=pgettext_lazy("customer attribute", "Key"), max_length=40,
        help_text=gettext_lazy("Lower-case letters, digits and _, starting with a letter; it "
                               "cannot change later."))
    label = forms.CharField(label=gettext_lazy("Label"), max_length=80)
    kind = forms.ChoiceField(label=gettext_lazy("Kind"), choices=CustomerAttribute.Kind.choices)
    choices = forms.CharField(label=gettext_lazy("Choices (one a line)"), required=False,
                              widget=forms.Textarea(attrs={"rows": 4}),
                              help_text=gettext_lazy("Only for a choice attribute."))
    position = forms.IntegerField(label=gettext_lazy("Position"), min_value=0, required=False,
                                  help_text=gettext_lazy("Lower comes first; empty: last."))

    def __init__(self, *args: object, attribute: CustomerAttribute | None = None,
                 **kwargs: object) -> None:
        if attribute is not None:
            kwargs.setdefault("initial", {
                "key": attribute.key, "label": attribute.label, "kind": attribute.kind,
                "choices": "\n".join(attribute.choices), "position": attribute.position})
        super().__init__(*args, **kwargs)
        if attribute is not None:
            # Stored values are read by key and kind, so an edit changes neither.
            self.fields["key"].disabled = self.fields["kind"].disabled = True
            self.fields["key"].help_text = ""
            if attribute.kind != CustomerAttribute.Kind.CHOICE:
                del self.fields["choices"]

    def service_input(self) -> dict:
        data = self.cleaned_data
        found = {"label": data["label"], "position": data["position"]}
        if "choices" in self.fields:
            found["choices"] = [line.strip() for line in data["choices"].splitlines()
                                if line.strip()]
        return found


def _require_admin(scope: Scope) -> None:
    if scope.role not in attributes.MANAGE_ROLES:
        raise RoleRequired(_("Owners and admins define the customer attributes."))


@member_required
def attributes_page(request: HttpRequest, scope: Scope) -> HttpResponse:
    """GET: the definitions, and the form of a new one for owners and admins. POST: it."""
    can_change = scope.role in attributes.MANAGE_ROLES
    form = AttributeForm(request.POST or None)
    if request.method == "POST":
        _require_admin(scope)
        if form.is_valid():
            try:
                made = attributes.attribute_create(
                    scope=scope, key=form.cleaned_data["key"], kind=form.cleaned_data["kind"],
                    **form.service_input())
            except DomainError as exc:
                _show(form, exc)
            else:
                messages.success(request, _("Attribute %(label)s saved.") % {"label": made.label})
                return redirect("crm_attributes")
    return render(request, "followers/identity/attributes.html", {
        "attributes": attributes.attribute_list(scope=scope), "form": form,
        "can_change": can_change})


@member_required
@require_http_methods(["GET", "POST"])
def attribute_edit(request: HttpRequest, scope: Scope, pk: int) -> HttpResponse:
    """The label, choices and position of one definition (its key and kind stay)."""
    attribute = access(attributes.attribute_list(scope=scope), pk)
    _require_admin(scope)
    form = AttributeForm(request.POST or None, attribute=attribute)
    if request.method == "POST" and form.is_valid():
        try:
            attributes.attribute_update(scope=scope, attribute=attribute,
                                        **form.service_input())
        except DomainError as exc:
            _show(form, exc)
        else:
            messages.success(request, _("Attribute %(label)s saved.") % {
                "label": attribute.label})
            return redirect("crm_attributes")
    return render(request, "followers/identity/attribute_form.html", {
        "form": form, "attribute": attribute})


@member_required
@require_http_methods(["GET", "POST"])
def attribute_delete(request: HttpRequest, scope: Scope, pk: int) -> HttpResponse:
    """GET asks for confirmation; POST deletes the definition."""
    attribute = access(attributes.attribute_list(scope=scope), pk)
    _require_admin(scope)
    if request.method == "GET":
        return render(request, "followers/identity/attribute_delete.html",
                      {"attribute": attribute})
    attributes.attribute_delete(scope=scope, attribute=attribute)
    messages.success(request, _("Attribute %(label)s deleted.") % {"label": attribute.label})
    return redirect("crm_attributes")
