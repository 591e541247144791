"""The segment page's form: each condition as a field, turned into a definition that
followers.segments checks (and whose refusals come back beside the fields)."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from accounts.scope import Scope
from followers.models import Campaign, Segment, Tag
from followers.segments import ATTRIBUTE_OPS

ATTRIBUTE_ROWS = 3
GENDER_CHOICES = [(0, _("Unknown")), (1, _("Male")), (2, _("Female"))]
ACTIVITY_CHOICES = [
    ("", _("Any time")),
    ("within", _("Wrote within the last N days")),
    ("not_within", _("Has not written for N days")),
    ("before", _("Last wrote before a day")),
    ("after", _("Last wrote after a day")),
]
OP_LABELS = {"eq": _("is"), "contains": _("contains"), "gt": _("is more than"),
             "lt": _("is less than"), "before": _("is before"), "after": _("is after")}


def _words(text: str) -> list[str]:
    return [w.strip() for w in text.split(",") if w.strip()]


def _number(text: str) -> int | float | str:
    try:
        value = float(text)
    except ValueError:
        return text  # the service refuses it, beside the field
    return int(value) if value.is_integer() else value


class SegmentForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=80)
    tags_any = forms.TypedMultipleChoiceField(label=_("Has any of these tags"), coerce=int,
                                              required=False)
    tags_all = forms.TypedMultipleChoiceField(label=_("Has all of these tags"), coerce=int,
                                              required=False)
    tags_none = forms.TypedMultipleChoiceField(label=_("Has none of these tags"), coerce=int,
                                               required=False)
    accounts = forms.TypedMultipleChoiceField(label=_("Follows one of these accounts"),
                                              coerce=int, required=False,
                                              widget=forms.CheckboxSelectMultiple)
    languages = forms.CharField(label=_("Language"), required=False,
                                help_text=_("Codes separated by commas, as WeChat gives "
                                            "them: en, zh_CN, zh_TW."))
    regions = forms.CharField(label=_("Region"), required=False,
                              help_text=_("Separated by commas; case does not matter."))
    genders = forms.TypedMultipleChoiceField(label=_("Gender"), coerce=int, required=False,
                                             choices=GENDER_CHOICES,
                                             widget=forms.CheckboxSelectMultiple)
    campaigns = forms.TypedMultipleChoiceField(label=_("Came through QR campaign"),
                                               coerce=int, required=False)
    followed_from = forms.DateField(label=_("Followed from"), required=False,
                                    widget=forms.DateInput(attrs={"type": "date"}))
    followed_to = forms.DateField(label=_("Followed until"), required=False,
                                  widget=forms.DateInput(attrs={"type": "date"}))
    activity_op = forms.ChoiceField(label=_("Last activity"), choices=ACTIVITY_CHOICES,
                                    required=False)
    activity_days = forms.IntegerField(label=_("Days"), required=False, min_value=1)
    activity_date = forms.DateField(label=_("Day"), required=False,
                                    widget=forms.DateInput(attrs={"type": "date"}))
    include_unfollowed = forms.BooleanField(label=_("Include followers who unfollowed"),
                                            required=False)

    def __init__(self, *args: Any, scope: Scope, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        tags = [(t.pk, t.name) for t in Tag.objects.filter(brand_id=scope.brand_id)]
        for name in ("tags_any", "tags_all", "tags_none"):
            self.fields[name].choices = tags
            self.fields[name].widget.attrs["size"] = min(max(len(tags), 2), 6)
        self.fields["accounts"].choices = [(a.pk, a.name)
                                           for a in scope.accounts().order_by("name")]
        self.fields["campaigns"].choices = [
            (c.pk, c.name) for c in Campaign.objects.filter(brand_id=scope.brand_id)]
        self.fields["campaigns"].widget.attrs["size"] = 4
        ops = [("", "—")] + [(op, OP_LABELS[op]) for op in ATTRIBUTE_OPS]
        for i in range(ATTRIBUTE_ROWS):
            self.fields[f"attr_key_{i}"] = forms.CharField(
                label=_("Attribute"), required=False, max_length=64)
            self.fields[f"attr_op_{i}"] = forms.ChoiceField(label=_("Condition"),
                                                            choices=ops, required=False)
            self.fields[f"attr_value_{i}"] = forms.CharField(label=_("Value"),
                                                             required=False, max_length=200)

    @staticmethod
    def initial_for(segment: Segment) -> dict:
        d = segment.definition
        initial: dict[str, Any] = {"name": segment.name}
        for mode, ids in d.get("tags", {}).items():
            initial[f"tags_{mode}"] = ids
        for key in ("accounts", "genders", "campaigns"):
            initial[key] = d.get(key, [])
        initial["languages"] = ", ".join(d.get("languages", []))
        initial["regions"] = ", ".join(d.get("regions", []))
        initial["followed_from"] = d.get("followed", {}).get("from")
        initial["followed_to"] = d.get("followed", {}).get("to")
        activity = d.get("last_activity", {})
        initial.update(activity_op=activity.get("op", ""), activity_days=activity.get("days"),
                       activity_date=activity.get("date"))
        for i, condition in enumerate(d.get("attributes", [])[:ATTRIBUTE_ROWS]):
            initial.update({f"attr_key_{i}": condition["key"], f"attr_op_{i}": condition["op"],
                            f"attr_value_{i}": condition["value"]})
        initial["include_unfollowed"] = d.get("include_unfollowed", False)
        return initial

    @property
    def attribute_rows(self) -> list[tuple]:
        return [(self[f"attr_key_{i}"], self[f"attr_op_{i}"], self[f"attr_value_{i}"])
                for i in range(ATTRIBUTE_ROWS)]

    def definition(self) -> dict:
        """The definition the cleaned fields describe (followers.segments checks it)."""
        data = self.cleaned_data
        d: dict[str, Any] = {}
        tags = {mode: data.get(f"tags_{mode}") for mode in ("any", "all", "none")}
        if tags := {mode: ids for mode, ids in tags.items() if ids}:
            d["tags"] = tags
        for key in ("accounts", "genders", "campaigns"):
            if data.get(key):
                d[key] = data[key]
        for key in ("languages", "regions"):
            if words := _words(data.get(key) or ""):
                d[key] = words
        followed = {end: data[f"followed_{end}"].isoformat()
                    for end in ("from", "to") if data.get(f"followed_{end}")}
        if followed:
            d["followed"] = followed
        op = data.get("activity_op")
        if op in ("within", "not_within"):
            d["last_activity"] = {"op": op, "days": data.get("activity_days")}
        elif op in ("before", "after"):
            day = data.get("activity_date")
            d["last_activity"] = {"op": op, "date": day.isoformat() if day else None}
        attributes = []
        for i in range(ATTRIBUTE_ROWS):
            key, op = data.get(f"attr_key_{i}", ""), data.get(f"attr_op_{i}", "")
            if not key and not op:
                continue
            value: Any = data.get(f"attr_value_{i}", "")
            if op in ("gt", "lt"):
                value = _number(value)
            attributes.append({"key": key, "op": op, "value": value})
        if attributes:
            d["attributes"] = attributes
        if data.get("include_unfollowed"):
            d["include_unfollowed"] = True
        return d

    @staticmethod
    def field_for(path: str) -> str | None:
        """The form field a refused part of the definition belongs to."""
        parts = path.split(".")
        if parts[0] == "tags" and len(parts) > 1:
            return f"tags_{parts[1]}"
        if parts[0] == "followed" and len(parts) > 1:
            return f"followed_{parts[1]}"
        if parts[0] == "last_activity":
            return {"days": "activity_days", "date": "activity_date"}.get(
                parts[-1], "activity_op")
        if parts[0] == "attributes" and len(parts) > 1 and parts[1].isdigit():
            column = {"key": "attr_key", "op": "attr_op"}.get(parts[-1], "attr_value")
            return f"{column}_{parts[1]}"
        if parts[0] in ("accounts", "genders", "campaigns", "languages", "regions",
                        "include_unfollowed"):
            return parts[0]
        return None
