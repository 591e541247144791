"""REST: follower sync jobs (start one, watch its progress) and the follower list.

Starting a sync is for owners, admins and managers (managers for the accounts they
serve); agents get 403 on POST but may read the progress of the syncs of their accounts,
as they may read those accounts' followers: the numbers say nothing the list does not.
Ids of accounts, jobs and followers the requester does not serve answer 404.
"""

from __future__ import annotations

from django.db.models import QuerySet
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import mixins, serializers, status
from rest_framework.request import Request
from rest_framework.response import Response

from accounts.api_base import ScopedViewSet
from accounts.api_schema import answers
from accounts.errors import InvalidInput
from accounts.scope import Scope
from followers import selectors_sync, sync
from followers.serializers_sync import (
    CrmFollowerPageSerializer,
    CrmFollowerSerializer,
    CrmFollowerSyncSerializer,
    CrmFollowerSyncStartSerializer,
)


def _field_errors(exc: InvalidInput) -> serializers.ValidationError:
    return serializers.ValidationError(exc.fields or {"detail": exc.message})


class CrmFollowerSyncViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, ScopedViewSet):
    """Follower syncs of the accounts the requester serves, newest first, with their
    progress: the list's pages, the profiles, the errors and why a job paused or failed."""

    serializer_class = CrmFollowerSyncSerializer
    filter_backends: list = []

    def scoped_queryset(self, scope: Scope) -> QuerySet:
        query = sync.follower_sync_list(scope=scope)
        account = self.request.query_params.get("account") if self.request else None
        if account:
            if not account.isdigit():
                raise serializers.ValidationError({"account": ["A whole number."]})
            query = query.filter(account_id=int(account))
        return query.order_by("-created_at", "-id")

    @extend_schema(parameters=[OpenApiParameter(
        "account", OpenApiTypes.INT, description="Only this account's syncs.")])
    def list(self, request: Request) -> Response:
        return super().list(request)

    @extend_schema(request=CrmFollowerSyncStartSerializer,
                   responses={201: CrmFollowerSyncSerializer})
    @answers(404, 409)
    def create(self, request: Request) -> Response:
        """Start a sync of one account: 409 while one is queued, running or paused."""
        given = CrmFollowerSyncStartSerializer(data=request.data)
        given.is_valid(raise_exception=True)
        try:
            job = sync.follower_sync_start(scope=self.scope,
                                           account_id=given.validated_data["account"],
                                           kind=given.validated_data["kind"])
        except InvalidInput as exc:
            raise _field_errors(exc) from exc
        return Response(CrmFollowerSyncSerializer(job).data, status=status.HTTP_201_CREATED)


_LIST_PARAMETERS = [
    OpenApiParameter("account", OpenApiTypes.INT, description="Followers of this account."),
    OpenApiParameter("following", OpenApiTypes.BOOL, description="Following now, or not."),
    OpenApiParameter("language", OpenApiTypes.STR, description="WeChat language, e.g. en."),
    OpenApiParameter("tag", OpenApiTypes.INT, description="Carrying this brand tag."),
    OpenApiParameter("q", OpenApiTypes.STR,
                     description="Search: an openid (or its start), a remark, a name."),
    OpenApiParameter("after", OpenApiTypes.INT,
                     description="The cursor: `next_after` of the page before."),
    OpenApiParameter("page_size", OpenApiTypes.INT,
                     description="Followers per page: 50 unless given, at most 200."),
]


class CrmFollowerViewSet(mixins.RetrieveModelMixin, ScopedViewSet):
    """The followers of the accounts the requester serves, newest first, in keyset pages
    (no page numbers: they would cost a count over a million rows)."""

    serializer_class = CrmFollowerSerializer
    pagination_class = None
    filter_backends: list = []

    def scoped_queryset(self, scope: Scope) -> QuerySet:
        return selectors_sync.follower_list(scope=scope).select_related("customer")

    @extend_schema(parameters=_LIST_PARAMETERS, responses=CrmFollowerPageSerializer)
    def list(self, request: Request) -> Response:
        try:
            filters = selectors_sync.follower_filters_from(request.query_params)
        except InvalidInput as exc:
            raise _field_errors(exc) from exc
        page = selectors_sync.follower_page(scope=self.scope, filters=filters)
        return Response({
            "results": CrmFollowerSerializer(page.rows, many=True).data,
            "next_after": page.next_after,
            "count": page.count,
        })
