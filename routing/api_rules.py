"""REST: the brand's ordered routing rules (CRUD, move one up or down, reorder them all),
its routing settings (one row) and each team's response-time targets.

Agents get 403 here; managers change only what stays inside the accounts they manage
(routing.rules_admin). Ids in the path or the body that the requester does not see
answer 404.
"""

from __future__ import annotations

from django.db.models import QuerySet
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, serializers, status
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from accounts import selectors
from accounts.api_base import ScopedViewSet
from accounts.api_schema import answers
from accounts.errors import Conflict, InvalidInput
from accounts.scope import Scope
from routing import rules_admin
from routing.models import RoutingRule, RoutingSettings
from routing.serializers_rules import (
    MoveSerializer,
    ReorderSerializer,
    RoutingSettingsSerializer,
    RuleSerializer,
    TargetsSerializer,
)


def _field_errors(exc: InvalidInput) -> serializers.ValidationError:
    """A service's refusal as the API's 400: each message beside its field."""
    return serializers.ValidationError(exc.fields or {"detail": exc.message})


def _rule_input(data: dict, rule: RoutingRule | None = None) -> dict:
    """The services' arguments: what was given, else (a partial update) the rule's own."""
    def given(name: str, current: object) -> object:
        return data.get(name, current)

    keep = rule is not None
    return {
        "name": given("name", rule.name if keep else ""),
        "action": given("action", rule.action if keep else ""),
        "account_ids": given("accounts", [a.pk for a in rule.accounts.all()] if keep else []),
        "team_id": given("team_id", rule.team_id if keep else None),
        "account_id": given("account_id", rule.account_id if keep else None),
        "agent_id": given("agent_id", rule.agent_id if keep else None),
        **{name: given(name, getattr(rule, name) if keep else default)
           for name, default in (("is_active", True), ("languages", []),
                                 ("first_contact", None), ("off_hours", None),
                                 ("keywords", []), ("menu_keys", []), ("tags", []),
                                 ("attributes", {}))},
    }


class RuleViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, ScopedViewSet):
    """The brand's routing rules, in the order they are tried: the first whose conditions
    all hold decides where a new conversation goes."""

    serializer_class = RuleSerializer
    # One ordered list: a page of it, or another order, would hide which rule comes first.
    pagination_class = None
    filter_backends: list = []

    def scoped_queryset(self, scope: Scope) -> QuerySet:
        return rules_admin.rule_list(scope=scope).order_by("position", "pk")

    def _fresh(self, rule: RoutingRule) -> dict:
        return RuleSerializer(self.scoped_queryset(self.scope).get(pk=rule.pk)).data

    def list(self, request: Request) -> Response:
        self.scope.require("teams.manage")
        return super().list(request)

    def retrieve(self, request: Request, pk: str | None = None) -> Response:
        rule = self.get_object()
        self.scope.require("teams.manage")
        return Response(RuleSerializer(rule).data)

    @extend_schema(request=RuleSerializer, responses={201: RuleSerializer})
    @answers(404)
    def create(self, request: Request) -> Response:
        self.scope.require("teams.manage")
        serializer = RuleSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        try:
            rule = rules_admin.rule_create(scope=self.scope,
                                           **_rule_input(serializer.validated_data))
        except InvalidInput as exc:
            raise _field_errors(exc) from exc
        return Response(self._fresh(rule), status=status.HTTP_201_CREATED)

    @answers(404)
    def update(self, request: Request, pk: str | None = None, partial: bool = False) -> Response:
        rule = self.get_object()
        self.scope.require("teams.manage")
        serializer = RuleSerializer(rule, data=request.data, partial=partial)
        serializer.is_valid(raise_exception=True)
        given = serializer.validated_data if partial else {
            **{name: None for name in ("team_id", "account_id", "agent_id")},
            **serializer.validated_data}
        try:
            rule = rules_admin.rule_update(
                scope=self.scope, rule=rule,
                **_rule_input(given, rule if partial else None))
        except InvalidInput as exc:
            raise _field_errors(exc) from exc
        return Response(self._fresh(rule))

    @answers(404)
    def partial_update(self, request: Request, pk: str | None = None) -> Response:
        return self.update(request, pk, partial=True)

    def destroy(self, request: Request, pk: str | None = None) -> Response:
        rule = self.get_object()
        rules_admin.rule_delete(scope=self.scope, rule=rule)
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(request=MoveSerializer, responses=RuleSerializer)
    @action(detail=True, methods=["post"])
    def move(self, request: Request, pk: str | None = None) -> Response:
        """Move the rule one place up (tried sooner) or down; at either end it stays."""
        rule = self.get_object()
        self.scope.require("teams.manage")
        serializer = MoveSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        rule = rules_admin.rule_move(scope=self.scope, rule=rule,
                                     direction=serializer.validated_data["direction"])
        return Response(self._fresh(rule))

    @extend_schema(request=ReorderSerializer, responses=RuleSerializer(many=True))
    @action(detail=False, methods=["post"])
    @answers(409)
    def reorder(self, request: Request) -> Response:
        """Put every rule in a new order; answers the rules in it."""
        self.scope.require("teams.manage")
        serializer = ReorderSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        try:
            rules = rules_admin.rules_reorder(scope=self.scope,
                                              ids=serializer.validated_data["ids"])
        except InvalidInput as exc:
            # The list is well formed but names other rules than there are now (one was
            # added or deleted meanwhile): a conflict with the current state.
            raise Conflict(exc.message) from exc
        return Response(RuleSerializer(rules, many=True).data)


class RoutingSettingsViewSet(ScopedViewSet):
    """The brand's routing settings: one row, read by managers, changed by owners and
    admins."""

    serializer_class = RoutingSettingsSerializer

    def scoped_queryset(self, scope: Scope) -> QuerySet:
        return RoutingSettings.objects.filter(brand_id=scope.brand_id)

    def get_object(self) -> RoutingSettings:
        # The brand's one row has no id in the path (OPTIONS asks for it too). Until an
        # admin changes them the defaults are read unsaved: refused input writes nothing.
        row = self.get_queryset().first()
        return row or RoutingSettings(brand_id=self.scope.brand_id)

    @extend_schema(methods=["GET"], request=None, responses=RoutingSettingsSerializer)
    @extend_schema(methods=["PUT", "PATCH"], request=RoutingSettingsSerializer,
                   responses=RoutingSettingsSerializer)
    @action(detail=False, methods=["get", "put", "patch"], url_path="settings",
            url_name="settings")
    def routing_settings(self, request: Request) -> Response:
        self.scope.require("teams.manage")
        row = self.get_object()
        if request.method == "GET":
            return Response(RoutingSettingsSerializer(row).data)
        serializer = RoutingSettingsSerializer(row, data=request.data,
                                               partial=request.method == "PATCH")
        serializer.is_valid(raise_exception=True)
        try:
            row = rules_admin.settings_update(scope=self.scope, **serializer.validated_data)
        except InvalidInput as exc:
            raise _field_errors(exc) from exc
        return Response(RoutingSettingsSerializer(row).data)


class TargetsViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, ScopedViewSet):
    """Each team the requester sees, with its response-time targets in business minutes."""

    serializer_class = TargetsSerializer
    filter_backends: list = []
    # The path's id is the team's (a team's targets have no id of their own).
    lookup_value_regex = r"[0-9]+"

    def scoped_queryset(self, scope: Scope) -> QuerySet:
        return selectors.team_list(scope=scope).select_related("targets").order_by("name")

    def list(self, request: Request) -> Response:
        self.scope.require("teams.manage")
        return super().list(request)

    def retrieve(self, request: Request, pk: str | None = None) -> Response:
        team = self.get_object()
        self.scope.require("teams.manage")
        return Response(TargetsSerializer(team).data)

    @extend_schema(request=TargetsSerializer, responses=TargetsSerializer)
    def update(self, request: Request, pk: str | None = None,
               partial: bool = False) -> Response:
        team = self.get_object()
        self.scope.require("teams.manage")
        serializer = TargetsSerializer(team, data=request.data, partial=partial)
        serializer.is_valid(raise_exception=True)
        current = TargetsSerializer(team).data
        data = {**({} if partial else {"first_response_minutes": None,
                                       "next_response_minutes": None}),
                **serializer.validated_data}
        try:
            rules_admin.targets_update(
                scope=self.scope, team=team,
                first=data.get("first_response_minutes", current["first_response_minutes"]),
                next=data.get("next_response_minutes", current["next_response_minutes"]))
        except InvalidInput as exc:
            raise _field_errors(exc) from exc
        return Response(TargetsSerializer(self.get_queryset().get(pk=team.pk)).data)

    @extend_schema(request=TargetsSerializer, responses=TargetsSerializer)
    def partial_update(self, request: Request, pk: str | None = None) -> Response:
        return self.update(request, pk, partial=True)
