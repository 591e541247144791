"""REST: the brand's tags (CRUD, per-account WeChat status, apply / remove on followers or
customers) and its tag rules (CRUD, move, test a text).

Reading is for every member; changing tags and rules needs a manager's reach
("teams.manage"); applying a tag is for anyone who sees the followers (an agent: those of
the accounts they serve). Ids the requester does not see answer 404. Renaming and
deleting a tag reach WeChat at once (followers.tags); a refusal there answers 409.
"""

from __future__ import annotations

from django.db import transaction
from django.db.models import Count, QuerySet
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, serializers, status
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from accounts.api_base import ScopedViewSet
from accounts.api_schema import answers
from accounts.errors import InvalidInput, NotInScope
from accounts.scope import Scope
from followers import tag_rules
from followers import tags as tag_services
from followers.models import Follower, Tag, TagRule
from followers.serializers_tags import (
    CrmTagApplyResultSerializer,
    CrmTagApplySerializer,
    CrmTagRuleMoveSerializer,
    CrmTagRuleSerializer,
    CrmTagRuleTestRowSerializer,
    CrmTagRuleTestSerializer,
    CrmTagSerializer,
)


def _field_errors(exc: InvalidInput) -> serializers.ValidationError:
    return serializers.ValidationError(exc.fields or {"detail": exc.message})


def scoped_followers(scope: Scope) -> QuerySet[Follower]:
    return Follower.objects.filter(brand_id=scope.brand_id, account__in=scope.accounts())


def followers_given(scope: Scope, *, follower_ids: list[int], customer_ids: list[int]
                    ) -> list[int]:
    """The followers named (directly, or behind customers), all in the scope, else 404."""
    visible = scoped_followers(scope)
    ids = set(follower_ids)
    if len(set(visible.filter(pk__in=ids).values_list("pk", flat=True))) != len(ids):
        raise NotInScope()
    if customer_ids:
        behind = visible.filter(customer_id__in=set(customer_ids))
        found = set(behind.values_list("customer_id", flat=True))
        if found != set(customer_ids):
            raise NotInScope()
        ids |= set(behind.values_list("pk", flat=True))
    return sorted(ids)


class CrmTagViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, ScopedViewSet):
    """The brand's tags, each with its status on every account (the WeChat tag id, changes
    pending, changes WeChat refused and why)."""

    serializer_class = CrmTagSerializer

    def scoped_queryset(self, scope: Scope) -> QuerySet:
        return (Tag.objects.filter(brand_id=scope.brand_id)
                .annotate(follower_count=Count("followers", distinct=True))
                .prefetch_related("account_tags").order_by("name"))

    @extend_schema(request=CrmTagSerializer, responses={201: CrmTagSerializer})
    def create(self, request: Request) -> Response:
        self.scope.require("teams.manage")
        serializer = CrmTagSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        try:
            tag, _created = tag_services.tag_get_or_create(
                brand_id=self.scope.brand_id, name=serializer.validated_data["name"])
        except InvalidInput as exc:
            raise _field_errors(exc) from exc
        return Response(CrmTagSerializer(self.scoped_queryset(self.scope).get(pk=tag.pk)).data,
                        status=status.HTTP_201_CREATED)

    @answers(409)
    def update(self, request: Request, pk: str | None = None, partial: bool = False
               ) -> Response:
        """Rename the tag, on WeChat too (every account that has it): 409 with the reason
        when an account refuses, and then the tag keeps its name everywhere."""
        tag = self.get_object()
        self.scope.require("teams.manage")
        serializer = CrmTagSerializer(tag, data=request.data, partial=partial)
        serializer.is_valid(raise_exception=True)
        if "name" in serializer.validated_data:
            try:
                tag_services.tag_rename(tag=tag, name=serializer.validated_data["name"])
            except InvalidInput as exc:
                raise _field_errors(exc) from exc
        return Response(CrmTagSerializer(self.scoped_queryset(self.scope).get(pk=tag.pk)).data)

    @answers(409)
    def partial_update(self, request: Request, pk: str | None = None) -> Response:
        """Rename the tag, on WeChat too (see PUT)."""
        return self.update(request, pk, partial=True)

    @answers(409)
    def destroy(self, request: Request, pk: str | None = None) -> Response:
        """Delete the tag, on WeChat first (every account that has it). 409 with the reason
        while a tag rule adds it, or when an account refuses (45057: more than 100,000
        followers there): the tag then stays on those accounts only."""
        tag = self.get_object()
        self.scope.require("teams.manage")
        tag_services.tag_delete(tag=tag, by=self.scope.membership)
        return Response(status=status.HTTP_204_NO_CONTENT)

    def _change(self, request: Request, add: bool) -> Response:
        tag = self.get_object()
        serializer = CrmTagApplySerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        ids = followers_given(self.scope, **serializer.validated_data)
        change = tag_services.tag_add if add else tag_services.tag_remove
        with transaction.atomic():
            changed = change(tag=tag, followers=ids, by=self.scope.membership)
        return Response({"tag": tag.pk, "changed": changed})

    @extend_schema(request=CrmTagApplySerializer, responses=CrmTagApplyResultSerializer)
    @action(detail=True, methods=["post"])
    def apply(self, request: Request, pk: str | None = None) -> Response:
        """Put the tag on followers (or every follower of customers); on WeChat it follows
        by a task, within the platform's limits."""
        return self._change(request, add=True)

    @extend_schema(request=CrmTagApplySerializer, responses=CrmTagApplyResultSerializer)
    @action(detail=True, methods=["post"])
    def remove(self, request: Request, pk: str | None = None) -> Response:
        """Take the tag off followers (or every follower of customers)."""
        return self._change(request, add=False)


_SERVICE_FIELDS = ("name", "kind", "match", "pattern", "behaviour", "menu_key", "count",
                   "days", "set_language", "reply_text", "replies", "is_active", "account_id",
                   "campaign_id", "add_tags", "remove_tags")


class CrmTagRuleViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, ScopedViewSet):
    """The brand's tag rules in the order they are tried (keyword: the first match acts;
    behaviour: each is evaluated every 10 minutes and on the follower's events)."""

    serializer_class = CrmTagRuleSerializer
    pagination_class = None
    filter_backends: list = []

    def scoped_queryset(self, scope: Scope) -> QuerySet:
        return tag_rules.tag_rule_list(scope=scope)

    def _fresh(self, rule: TagRule) -> dict:
        return CrmTagRuleSerializer(self.scoped_queryset(self.scope).get(pk=rule.pk)).data

    def _save(self, request: Request, rule: TagRule | None, partial: bool) -> TagRule:
        self.scope.require("teams.manage")
        serializer = CrmTagRuleSerializer(rule, data=request.data, partial=partial)
        serializer.is_valid(raise_exception=True)
        data = {k: v for k, v in serializer.validated_data.items() if k in _SERVICE_FIELDS}
        try:
            return tag_rules.tag_rule_save(scope=self.scope, rule=rule, data=data,
                                           by=self.scope.membership)
        except InvalidInput as exc:
            raise _field_errors(exc) from exc

    @extend_schema(request=CrmTagRuleSerializer, responses={201: CrmTagRuleSerializer})
    def create(self, request: Request) -> Response:
        rule = self._save(request, None, partial=False)
        return Response(self._fresh(rule), status=status.HTTP_201_CREATED)

    def update(self, request: Request, pk: str | None = None, partial: bool = False
               ) -> Response:
        rule = self._save(request, self.get_object(), partial=partial)
        return Response(self._fresh(rule))

    def partial_update(self, request: Request, pk: str | None = None) -> Response:
        return self.update(request, pk, partial=True)

    def destroy(self, request: Request, pk: str | None = None) -> Response:
        rule = self.get_object()
        self.scope.require("teams.manage")
        tag_rules.tag_rule_delete(scope=self.scope, rule=rule)
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(request=CrmTagRuleMoveSerializer, responses=CrmTagRuleSerializer)
    @action(detail=True, methods=["post"])
    def move(self, request: Request, pk: str | None = None) -> Response:
        """One place up (tried sooner) or down; at either end it stays."""
        rule = self.get_object()
        self.scope.require("teams.manage")
        serializer = CrmTagRuleMoveSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        rule = tag_rules.tag_rule_move(scope=self.scope, rule=rule,
                                       direction=serializer.validated_data["direction"])
        return Response(self._fresh(rule))

    @extend_schema(request=CrmTagRuleTestSerializer,
                   responses=CrmTagRuleTestRowSerializer(many=True))
    @action(detail=False, methods=["post"])
    def test(self, request: Request) -> Response:
        """Each keyword rule against a made-up text: which match and which would act."""
        serializer = CrmTagRuleTestSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        account_id = serializer.validated_data.get("account")
        if account_id is not None and not self.scope.accounts().filter(pk=account_id).exists():
            raise serializers.ValidationError({"account": ["Unknown account."]})
        rows = tag_rules.rules_test(scope=self.scope, text=serializer.validated_data["text"],
                                    account_id=account_id)
        return Response(CrmTagRuleTestRowSerializer(rows, many=True).data)
