"""The API's filters: django-filter's, with booleans that refuse what they do not know.

Apart from accounts.api_base because DRF imports the filter backend while it builds its
generic views, and api_base imports those views.
"""

from typing import Any

from django import forms
from django.db import models
from django.http import QueryDict
from django.utils.translation import gettext as _
from django_filters import rest_framework as django_filters
from django_filters.widgets import BooleanWidget


class _StrictBooleanWidget(BooleanWidget):
    def value_from_datadict(self, data: QueryDict, files: object, name: str) -> object:
        value = data.get(name)
        known = {"true": True, "1": True, "false": False, "0": False, "": None}
        return known.get(value.lower(), value) if isinstance(value, str) else value


class _StrictBooleanField(forms.NullBooleanField):
    widget = _StrictBooleanWidget

    def to_python(self, value: object) -> bool | None:
        if value is None or isinstance(value, bool):
            return value
        raise forms.ValidationError(_("Enter true or false."), code="invalid")

    def validate(self, value: object) -> None:
        return None


class _StrictBooleanFilter(django_filters.BooleanFilter):
    field_class = _StrictBooleanField

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("widget", _StrictBooleanWidget)
        super().__init__(*args, **kwargs)


class FilterSet(django_filters.FilterSet):
    # django-filter reads a boolean it does not know (?verified=maybe) as "no filter" and
    # lists everything; here it is refused with 400, as the schema's boolean says.
    FILTER_DEFAULTS = {
        **django_filters.FilterSet.FILTER_DEFAULTS,
        models.BooleanField: {"filter_class": _StrictBooleanFilter},
    }


class FilterBackend(django_filters.DjangoFilterBackend):
    filterset_base = FilterSet
