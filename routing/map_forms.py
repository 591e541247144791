"""Forms of the routing map (which day, which times, which language) and of the
"what happens if" tester (a made-up message)."""

from __future__ import annotations

from datetime import date, time

from django import forms
from django.utils.translation import gettext_lazy as _

from accounts.models import OfficialAccount
from routing import language as lang
from routing.simulate import year_error

LANGUAGE_CHOICES = [
    (lang.UNKNOWN, _("Not known yet")),
    (lang.SIMPLIFIED, _("Simplified Chinese")),
    (lang.TRADITIONAL, _("Traditional Chinese")),
    (lang.ENGLISH, _("English")),
]
DAY_TIME = time(10, 0)
NIGHT_TIME = time(22, 0)


class MapForm(forms.Form):
    """The day to draw, a time by day and one by night (each account's own zone), and the
    language the first-time follower writes in."""

    day = forms.DateField(label=_("Day"), widget=forms.DateInput(attrs={"type": "date"}))
    day_time = forms.TimeField(label=_("By day at"), initial=DAY_TIME,
                               widget=forms.TimeInput(attrs={"type": "time"}, format="%H:%M"))
    night_time = forms.TimeField(label=_("By night at"), initial=NIGHT_TIME,
                                 widget=forms.TimeInput(attrs={"type": "time"},
                                                        format="%H:%M"))
    language = forms.ChoiceField(label=_("The follower writes in"), choices=LANGUAGE_CHOICES,
                                 initial=lang.UNKNOWN, required=False)

    def clean_day(self) -> date:
        return _checked_day(self.cleaned_data["day"])

    def values(self, *, today: date) -> dict:
        """The form's values, its defaults where it is not bound or not valid."""
        if self.is_bound and self.is_valid():
            data = self.cleaned_data
            return {"day": data["day"], "day_time": data["day_time"],
                    "night_time": data["night_time"],
                    "language": data["language"] or lang.UNKNOWN}
        return {"day": today, "day_time": DAY_TIME, "night_time": NIGHT_TIME,
                "language": lang.UNKNOWN}


class TesterForm(forms.Form):
    account = forms.ModelChoiceField(label=_("Account"), queryset=OfficialAccount.objects.none(),
                                     empty_label=None)
    text = forms.CharField(label=_("The follower writes"), required=False, max_length=2000,
                           strip=False, widget=forms.Textarea(attrs={"rows": 2}),
                           help_text=_("For example TC, hi 你好, 請問幾點關門, price?"))
    day = forms.DateField(label=_("Day"), widget=forms.DateInput(attrs={"type": "date"}))
    at_time = forms.TimeField(label=_("Time"), initial=DAY_TIME,
                              widget=forms.TimeInput(attrs={"type": "time"}, format="%H:%M"),
                              help_text=_("In the account's time zone."))
    first_contact = forms.BooleanField(label=_("First contact"), required=False, initial=True)
    menu_key = forms.CharField(label=_("Menu key"), required=False, max_length=128,
                               help_text=_("The key of the menu button clicked, if any."))
    tags = forms.CharField(label=_("Tags"), required=False, max_length=600,
                           help_text=_("Separated by commas."))
    attributes = forms.CharField(
        label=_("Customer attributes"), required=False, max_length=2000,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=_("One per line, as name=value."))

    def __init__(self, *args: object, accounts, **kwargs: object) -> None:  # noqa: ANN001
        super().__init__(*args, **kwargs)
        self.fields["account"].queryset = accounts

    def clean_day(self) -> date:
        return _checked_day(self.cleaned_data["day"])

    def clean_tags(self) -> list[str]:
        tags = [t.strip() for t in self.cleaned_data["tags"].replace("，", ",").split(",")]
        return [t for t in tags if t]

    def clean_attributes(self) -> dict:
        found = {}
        for line in filter(None, (x.strip() for x in self.cleaned_data["attributes"].splitlines())):
            name, sep, value = line.partition("=")
            if not sep or not name.strip():
                raise forms.ValidationError(
                    _("“%(line)s” is not name=value.") % {"line": line}, code="attribute")
            found[name.strip()] = value.strip()
        return found


def _checked_day(day: date) -> date:
    if error := year_error(day.year):
        raise forms.ValidationError(error, code="year")
    return day
