"""The customer page's forms: the profile with the brand's custom attributes."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from followers.models import Customer, CustomerAttribute

ATTR_PREFIX = "attr_"


class CustomerProfileForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=120, required=False)
    phone = forms.CharField(label=_("Phone"), max_length=40, required=False)
    email = forms.CharField(label=_("Email"), max_length=254, required=False)
    notes = forms.CharField(label=_("Notes"), required=False, strip=False,
                            widget=forms.Textarea(attrs={"rows": 4}))

    def __init__(self, *args: object, customer: Customer,
                 attributes: list[CustomerAttribute], **kwargs: object) -> None:
        initial = {"name": customer.name, "phone": customer.phone, "email": customer.email,
                   "notes": customer.notes}
        values = customer.attributes or {}
        for a in attributes:
            initial[f"{ATTR_PREFIX}{a.key}"] = values.get(a.key, "")
        super().__init__(*args, initial=initial, **kwargs)
        self.attribute_defs = attributes
        for a in attributes:
            name = f"{ATTR_PREFIX}{a.key}"
            if a.kind == CustomerAttribute.Kind.CHOICE:
                self.fields[name] = forms.ChoiceField(
                    label=a.label, required=False,
                    choices=[("", "—"), *[(c, c) for c in a.choices]])
            elif a.kind == CustomerAttribute.Kind.DATE:
                self.fields[name] = forms.CharField(
                    label=a.label, required=False,
                    widget=forms.DateInput(attrs={"type": "date"}))
            elif a.kind == CustomerAttribute.Kind.NUMBER:
                self.fields[name] = forms.CharField(
                    label=a.label, required=False,
                    widget=forms.TextInput(attrs={"inputmode": "decimal"}))
            else:
                self.fields[name] = forms.CharField(label=a.label, required=False)
        for name, field in self.fields.items():
            field.widget.attrs.setdefault("data-testid", f"profile-{name}")

    def service_input(self) -> tuple[dict, dict]:
        data = self.cleaned_data
        profile = {k: data.get(k, "") for k in ("name", "phone", "email", "notes")}
        attributes = {a.key: (data.get(f"{ATTR_PREFIX}{a.key}") or None)
                      for a in self.attribute_defs}
        return profile, attributes

    def add_service_errors(self, fields: dict[str, list[str]], message: str) -> None:
        if not fields:
            self.add_error(None, message)
        for key, messages in fields.items():
            name = key.replace("attributes.", ATTR_PREFIX, 1)
            self.add_error(name if name in self.fields else None, messages)
