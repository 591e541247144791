"""REST: response-time breaches (`routing.targets`), for analytics and the brand standards
board. A member sees the breaches of the conversations they may see (the one visibility
rule); owners, admins and API keys the whole brand's."""

import django_filters
from django import forms
from django.db.models import QuerySet
from rest_framework import mixins, serializers

from accounts.api_base import ScopedViewSet
from accounts.api_filters import FilterSet
from accounts.scope import Scope
from messaging.selectors import conversation_queryset
from messaging.serializers import AssigneeRef, NamedRef
from routing.models import ResponseBreach


class BreachSerializer(serializers.ModelSerializer):
    kind = serializers.CharField(read_only=True, help_text="first or next (response)")
    conversation = serializers.IntegerField(source="conversation_id", read_only=True)
    account = NamedRef(allow_null=True, help_text="the account that handled the conversation")
    team = NamedRef(allow_null=True)
    assignee = AssigneeRef(allow_null=True, help_text="who held it when the target passed")
    target_minutes = serializers.IntegerField(
        read_only=True, help_text="the target, in minutes of business hours")
    waiting_since = serializers.DateTimeField(read_only=True,
                                              help_text="when the follower began to wait")
    due_at = serializers.DateTimeField(read_only=True, help_text="when the answer was due")
    breached_at = serializers.DateTimeField(read_only=True,
                                            help_text="when the breach was recorded")

    class Meta:
        model = ResponseBreach
        fields = ["id", "conversation", "kind", "account", "team", "assignee",
                  "target_minutes", "waiting_since", "due_at", "breached_at"]
        read_only_fields = fields


class _IdFilter(django_filters.Filter):
    field_class = forms.IntegerField


class BreachFilter(FilterSet):
    # By id, not as a choice among every brand's rows: a foreign id finds nothing, like a
    # missing one.
    account = _IdFilter(field_name="account_id")
    team = _IdFilter(field_name="team_id")
    kind = django_filters.ChoiceFilter(choices=ResponseBreach.Kind.choices)
    since = django_filters.IsoDateTimeFilter(
        field_name="breached_at", lookup_expr="gte",
        help_text="breaches recorded at or after this time (ISO 8601)")

    class Meta:
        model = ResponseBreach
        fields = ["account", "team", "kind", "since"]


class BreachViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, ScopedViewSet):
    """Missed response targets, newest first: one per wait that outlasted its team's first
    or next response target."""

    serializer_class = BreachSerializer
    filterset_class = BreachFilter
    search_fields: list[str] = []
    ordering_fields = ["breached_at", "due_at"]
    ordering = ["-breached_at", "-pk"]

    def scoped_queryset(self, scope: Scope) -> QuerySet:
        rows = ResponseBreach.objects.filter(brand_id=scope.brand_id)
        if not scope.is_brand_wide:
            rows = rows.filter(conversation__in=conversation_queryset(scope=scope).values("pk"))
        return rows.select_related("account", "team", "assignee__user").order_by(
            "-breached_at", "-pk")
