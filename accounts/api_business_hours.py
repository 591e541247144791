"""REST: business hours of accounts and teams, and the brand's closures.

A week is written as opening periods, each a weekday (0 is Monday) with the times it
opens and closes, as schema.org's OpeningHoursSpecification has them: a period that
closes at or before it opens runs past midnight into the next day (22:00 to 02:00 on a
Friday is open until 02:00 on Saturday; 09:00 to 09:00 is 24 hours). Periods that
overlap or touch are joined. The week is read back the same way, one period a day each
(so Friday 22:00 to 02:00 reads as Friday 22:00 to 24:00 and Saturday 00:00 to 02:00), with
each day's hours also as text. A closure is given as its first day and how many days it
lasts. Reading is for every member; changing takes an owner or an admin.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, serializers, status
from rest_framework.request import Request
from rest_framework.response import Response

from accounts import business_hours, selectors
from accounts.api_base import ScopedViewSet
from accounts.api_schema import answers
from accounts.business_hours import DAY_MINUTES, Interval
from accounts.errors import Conflict, NotInScope
from accounts.models import BrandClosure, BusinessHours
from accounts.scope import Scope, access
from accounts.serializers import IdListField, StrictInput, pattern_field
from accounts.time_zones import time_zone_names

OPENS = r"^([01][0-9]|2[0-3]):[0-5][0-9]$"
CLOSES = r"^(([01][0-9]|2[0-3]):[0-5][0-9]|24:00)$"
MAX_PERIODS = 7 * 12
MAX_CLOSURE_DAYS = 366


def _minute(text: str) -> int:
    hours, minutes = text.split(":")
    return int(hours) * 60 + int(minutes)


def week_from_periods(periods: list[dict]) -> list[list[Interval]]:
    """Seven days of sorted, joined intervals from the periods (see the module's note)."""
    days: list[list[Interval]] = [[] for _day in range(7)]
    for period in periods:
        day, opens, closes = period["day"], _minute(period["opens"]), _minute(period["closes"])
        if closes > opens:
            days[day].append((opens, closes))
            continue
        days[day].append((opens, DAY_MINUTES))
        if closes:
            days[(day + 1) % 7].append((0, closes))
    week = []
    for intervals in days:
        joined: list[Interval] = []
        for opens, closes in sorted(intervals):
            if joined and opens <= joined[-1][1]:
                joined[-1] = (joined[-1][0], max(joined[-1][1], closes))
            else:
                joined.append((opens, closes))
        week.append(joined)
    return week


def periods_of(schedule: BusinessHours) -> list[dict]:
    return [{"day": day, "opens": business_hours.format_minute(a),
             "closes": business_hours.format_minute(b)}
            for day, intervals in enumerate(business_hours.week_of(schedule))
            for a, b in intervals]


class PeriodSerializer(StrictInput, serializers.Serializer):
    day = serializers.IntegerField(min_value=0, max_value=6, help_text=_("0 is Monday."))
    opens = pattern_field(OPENS, _("Give the time as HH:MM, from 00:00 to 23:59."),
                          help_text=_("HH:MM, local time."))
    closes = pattern_field(
        CLOSES, _("Give the time as HH:MM, from 00:00 to 24:00."),
        help_text=_("HH:MM, local time; at or before `opens`: on the next day."))


class _HoursFields(StrictInput, serializers.Serializer):
    periods = serializers.ListField(
        child=PeriodSerializer(), max_length=MAX_PERIODS,
        help_text=_("When it is open; a day without a period is closed."))
    time_zone = serializers.ChoiceField(
        choices=sorted(time_zone_names()), required=False, allow_blank=True, default="",
        help_text=_("An IANA time zone; empty: the account's, or the brand's for a team."))
    observe_cn_holidays = serializers.BooleanField(
        required=False, default=True,
        help_text=_("Closed on mainland China public holidays; open on their make-up "
                    "working days with Monday's hours."))


class HoursCreateSerializer(_HoursFields):
    # For the schema (accounts.api_schema): an account or a team, as validate() says.
    request_schema_extra = {"oneOf": [
        {"required": [name], "properties": {name: {"type": "integer"}}}
        for name in ("account", "team")
    ]}

    account = serializers.IntegerField(required=False, allow_null=True, default=None,
                                       help_text=_("The account's id (or give a team)."))
    team = serializers.IntegerField(required=False, allow_null=True, default=None,
                                    help_text=_("The team's id (or give an account)."))

    def validate(self, attrs: dict) -> dict:
        if (attrs["account"] is None) == (attrs["team"] is None):
            raise serializers.ValidationError(_("Give either an account or a team."))
        return attrs


class HoursUpdateSerializer(_HoursFields):
    pass


class HoursSerializer(serializers.ModelSerializer):
    periods = serializers.SerializerMethodField()
    days = serializers.SerializerMethodField(
        help_text=_("Each day's hours as text, Monday first."))
    is_open = serializers.SerializerMethodField(help_text=_("Open now."))
    reason = serializers.SerializerMethodField(help_text=_("Why it is open or closed now."))

    class Meta:
        model = BusinessHours
        fields = ["id", "account", "team", "time_zone", "observe_cn_holidays", "periods",
                  "days", "is_open", "reason", "updated_at"]
        read_only_fields = fields

    def get_periods(self, obj: BusinessHours) -> list[dict[str, Any]]:
        return periods_of(obj)

    def get_days(self, obj: BusinessHours) -> list[str]:
        return [business_hours.format_day(day) for day in business_hours.week_of(obj)]

    def _state(self, obj: BusinessHours) -> business_hours.OpenState:
        if getattr(obj, "_state_now", None) is None:
            obj._state_now = business_hours.state_of(obj, timezone.now())  # type: ignore[attr-defined]
        return obj._state_now  # type: ignore[attr-defined]

    def get_is_open(self, obj: BusinessHours) -> bool:
        return self._state(obj).is_open

    def get_reason(self, obj: BusinessHours) -> str:
        return str(self._state(obj).reason)


class BusinessHoursViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, ScopedViewSet):
    """The weekly hours of the brand's accounts and teams."""

    serializer_class = HoursSerializer
    lookup_value_regex = r"[0-9]+"
    filter_backends: list = []

    def scoped_queryset(self, scope: Scope) -> QuerySet:
        return business_hours.schedule_list(scope=scope).order_by("pk")

    def _save(self, data: dict, **owner: object) -> BusinessHours:
        return business_hours.hours_save(
            scope=self.scope, week=week_from_periods(data["periods"]),
            time_zone=data["time_zone"], observe_cn_holidays=data["observe_cn_holidays"],
            **owner)

    @extend_schema(request=HoursCreateSerializer, responses={201: HoursSerializer})
    @answers(404, 409)
    def create(self, request: Request) -> Response:
        self.scope.require("business_hours.manage")
        serializer = HoursCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        if data["account"] is not None:
            owner = {"account": access(self.scope.accounts(), data["account"])}
        else:
            owner = {"team": access(selectors.team_list(scope=self.scope), data["team"])}
        if business_hours.schedule_for(**owner) is not None:
            raise Conflict(_("These business hours exist already: change them with PUT on "
                             "their own address."))
        schedule = self._save(data, **owner)
        return Response(HoursSerializer(schedule).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=HoursUpdateSerializer, responses=HoursSerializer)
    def update(self, request: Request, pk: str | None = None, partial: bool = False) -> Response:
        schedule = self.get_object()
        self.scope.require("business_hours.manage")
        serializer = HoursUpdateSerializer(data=request.data, partial=partial)
        serializer.is_valid(raise_exception=True)
        data = {"periods": periods_of(schedule), "time_zone": schedule.time_zone,
                "observe_cn_holidays": schedule.observe_cn_holidays,
                **serializer.validated_data}
        owner = ({"account": schedule.account} if schedule.account_id
                 else {"team": schedule.team})
        return Response(HoursSerializer(self._save(data, **owner)).data)

    @extend_schema(request=HoursUpdateSerializer, responses=HoursSerializer)
    def partial_update(self, request: Request, pk: str | None = None) -> Response:
        return self.update(request, pk, partial=True)

    def destroy(self, request: Request, pk: str | None = None) -> Response:
        business_hours.hours_delete(scope=self.scope, schedule=self.get_object())
        return Response(status=status.HTTP_204_NO_CONTENT)


class ClosureSerializer(StrictInput, serializers.ModelSerializer):
    accounts = IdListField(help_text=_("The accounts it closes; none: every account."))
    days = serializers.IntegerField(
        min_value=1, max_value=MAX_CLOSURE_DAYS, write_only=True,
        help_text=_("How many days it lasts, the first included (1: that day only)."))

    class Meta:
        model = BrandClosure
        fields = ["id", "name", "starts_on", "days", "ends_on", "accounts"]
        read_only_fields = ["ends_on"]


class ClosureViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, ScopedViewSet):
    """Days the brand is closed (a refit, a company holiday), for some or all accounts."""

    serializer_class = ClosureSerializer
    lookup_value_regex = r"[0-9]+"
    filter_backends: list = []

    def scoped_queryset(self, scope: Scope) -> QuerySet:
        return business_hours.closure_list(scope=scope).order_by("starts_on", "pk")

    @extend_schema(request=ClosureSerializer, responses={201: ClosureSerializer})
    @answers(404)
    def create(self, request: Request) -> Response:
        self.scope.require("business_hours.manage")
        serializer = ClosureSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        ids = list(dict.fromkeys(data.get("accounts", [])))
        accounts = list(self.scope.accounts().filter(pk__in=ids))
        if len(accounts) != len(ids):
            raise NotInScope()
        starts_on: date = data["starts_on"]
        try:
            ends_on = starts_on + timedelta(days=data["days"] - 1)
        except OverflowError:
            ends_on = date.max
        closure = business_hours.closure_create(
            scope=self.scope, name=data["name"], starts_on=starts_on, ends_on=ends_on,
            accounts=accounts)
        return Response(ClosureSerializer(closure).data, status=status.HTTP_201_CREATED)

    def destroy(self, request: Request, pk: str | None = None) -> Response:
        business_hours.closure_delete(scope=self.scope, closure=self.get_object())
        return Response(status=status.HTTP_204_NO_CONTENT)
