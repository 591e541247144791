"""Forms of the business-hours page: one schedule's week, and a brand closure."""

from django import forms
from django.utils.translation import gettext_lazy as _

from accounts import business_hours
from accounts.models import OfficialAccount
from accounts.time_zones import time_zone_choices, time_zone_error

WEEKDAYS = [_("Monday"), _("Tuesday"), _("Wednesday"), _("Thursday"), _("Friday"),
            _("Saturday"), _("Sunday")]


class BusinessHoursForm(forms.Form):
    """Seven day fields ("09:00-12:00, 13:00-18:00"; empty is closed), the zone and the
    holiday switch. Each day's mistake is reported beside that day."""

    time_zone = forms.ChoiceField(label=_("Time zone"), required=False)
    observe_cn_holidays = forms.BooleanField(
        label=_("Mainland China public holidays"), required=False, initial=True,
        help_text=_("Closed on public holidays; open on their make-up working days with "
                    "Monday's hours."))

    def __init__(self, *args: object, inherited_zone: str, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        zone = self.fields["time_zone"]
        zone.choices = [("", _("Inherited (%(zone)s)") % {"zone": inherited_zone}),
                        *time_zone_choices()]
        zone.error_messages["invalid_choice"] = time_zone_error("%(value)s")
        for index, label in enumerate(WEEKDAYS):
            self.fields[f"day_{index}"] = forms.CharField(
                label=label, required=False, max_length=200,
                help_text=_("For example 09:00-12:00, 13:00-18:00; empty is closed.")
                if index == 0 else "")
        # The zone and the switch after the days.
        order = [f"day_{i}" for i in range(7)] + ["time_zone", "observe_cn_holidays"]
        self.order_fields(order)

    @staticmethod
    def initial_for(schedule) -> dict:  # schedule: BusinessHours | None
        if schedule is None:
            return {"observe_cn_holidays": True}
        data = {f"day_{i}": business_hours.format_day(day)
                for i, day in enumerate(business_hours.week_of(schedule))}
        data.update(time_zone=schedule.time_zone,
                    observe_cn_holidays=schedule.observe_cn_holidays)
        return data

    def clean(self) -> dict:
        cleaned = super().clean()
        week = []
        for index in range(7):
            name = f"day_{index}"
            try:
                week.append(business_hours.parse_day(cleaned.get(name) or ""))
            except forms.ValidationError as exc:
                self.add_error(name, exc)
                week.append([])
        cleaned["week"] = week
        return cleaned


class ClosureForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=120)
    starts_on = forms.DateField(label=_("First day"),
                                widget=forms.DateInput(attrs={"type": "date"}))
    ends_on = forms.DateField(label=_("Last day"),
                              widget=forms.DateInput(attrs={"type": "date"}))
    accounts = forms.ModelMultipleChoiceField(
        label=_("Accounts"), required=False, queryset=OfficialAccount.objects.none(),
        widget=forms.CheckboxSelectMultiple,
        help_text=_("None means every account of the brand."))

    def __init__(self, *args: object, accounts, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        self.fields["accounts"].queryset = accounts

    def clean(self) -> dict:
        cleaned = super().clean()
        starts, ends = cleaned.get("starts_on"), cleaned.get("ends_on")
        if starts and ends and ends < starts:
            self.add_error("ends_on", _("The last day is before the first."))
        return cleaned
