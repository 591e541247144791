"""REST: segments (saved filters over followers), a live count of any definition, a
segment's members page by page, and its members streamed as CSV.

Every member of the brand sees its segments and counts them within the accounts they
serve; agents cannot change them (403). A definition naming another brand's tag, account
or campaign is refused with 400, beside the part that names it.
"""

from __future__ import annotations

from django.db.models import QuerySet
from django.http import StreamingHttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import mixins, renderers, serializers, status
from rest_framework.decorators import action
from rest_framework.pagination import CursorPagination
from rest_framework.request import Request
from rest_framework.response import Response

from accounts.api_base import ScopedViewSet
from accounts.errors import InvalidInput
from accounts.scope import Scope
from followers import segments
from followers.segment_export import segment_export_response
from followers.serializers_segments import (
    CrmSegmentCountInputSerializer,
    CrmSegmentCountSerializer,
    CrmSegmentMemberSerializer,
    CrmSegmentSerializer,
)


def _refused(exc: InvalidInput) -> serializers.ValidationError:
    """A service's refusal as the API's 400: a definition's parts under "definition"."""
    if isinstance(exc, segments.DefinitionInvalid):
        return serializers.ValidationError({"definition": exc.fields})
    return serializers.ValidationError(exc.fields or {"detail": exc.message})


class CrmSegmentCsvRenderer(renderers.BaseRenderer):
    """Lets a client ask for text/csv (the export answers it, streamed, unrendered); an
    error answered to such a client is its message as plain text."""

    media_type = "text/csv"
    format = "csv"
    charset = "utf-8"

    def render(self, data: object, accepted_media_type: str | None = None,
               renderer_context: dict | None = None) -> bytes:
        if isinstance(data, dict) and "detail" in data:
            return str(data["detail"]).encode()
        return str(data or "").encode()


class CrmSegmentMemberPagination(CursorPagination):
    """Keyset pages by follower id: as fast on the last page of a million as on the
    first, and stable while followers come and go."""

    ordering = ("id",)
    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 500


class SegmentViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, ScopedViewSet):
    """The brand's segments. Each selects followers (an openid per account: what a
    broadcast sends to); `last_followers` and `last_customers` are the latest count."""

    serializer_class = CrmSegmentSerializer
    filter_backends: list = []

    def scoped_queryset(self, scope: Scope) -> QuerySet:
        return segments.segment_list(scope=scope)

    @extend_schema(request=CrmSegmentSerializer, responses={201: CrmSegmentSerializer})
    def create(self, request: Request) -> Response:
        serializer = CrmSegmentSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        try:
            segment = segments.segment_create(scope=self.scope, **serializer.validated_data)
        except InvalidInput as exc:
            raise _refused(exc) from exc
        return Response(CrmSegmentSerializer(segment).data, status=status.HTTP_201_CREATED)

    def update(self, request: Request, pk: str | None = None, partial: bool = False) -> Response:
        segment = self.get_object()
        serializer = CrmSegmentSerializer(segment, data=request.data, partial=partial)
        serializer.is_valid(raise_exception=True)
        given = serializer.validated_data
        try:
            segment = segments.segment_update(scope=self.scope, segment=segment,
                                              name=given.get("name"),
                                              definition=given.get("definition"))
        except InvalidInput as exc:
            raise _refused(exc) from exc
        return Response(CrmSegmentSerializer(segment).data)

    def partial_update(self, request: Request, pk: str | None = None) -> Response:
        return self.update(request, pk, partial=True)

    def destroy(self, request: Request, pk: str | None = None) -> Response:
        segment = self.get_object()
        segments.segment_delete(scope=self.scope, segment=segment)
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(request=CrmSegmentCountInputSerializer,
                   responses=CrmSegmentCountSerializer)
    @action(detail=False, methods=["post"])
    def count(self, request: Request) -> Response:
        """Count what a definition selects, within your accounts, without saving it: the
        live count while a segment is edited."""
        serializer = CrmSegmentCountInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        try:
            clean = segments.definition_clean(
                scope=self.scope, definition=serializer.validated_data["definition"])
        except InvalidInput as exc:
            raise _refused(exc) from exc
        counted = segments.segment_count(scope=self.scope, definition=clean)
        return Response(CrmSegmentCountSerializer(counted).data)

    @extend_schema(
        responses=CrmSegmentMemberSerializer(many=True),
        parameters=[
            OpenApiParameter("cursor", str, description="The `next` or `previous` link's."),
            OpenApiParameter("page_size", int, description="Up to 500; 50 unless given."),
        ],
    )
    @action(detail=True, methods=["get"], pagination_class=CrmSegmentMemberPagination)
    def members(self, request: Request, pk: str | None = None) -> Response:
        """The segment's followers within your accounts, by id, a page at a time."""
        segment = self.get_object()
        followers = segments.segment_members(scope=self.scope, segment=segment) \
            .select_related("account", "customer")
        paginator = CrmSegmentMemberPagination()
        page = paginator.paginate_queryset(followers, request, view=self)
        return paginator.get_paginated_response(
            CrmSegmentMemberSerializer(page, many=True).data)

    @extend_schema(responses={(200, "text/csv"): OpenApiResponse(
        OpenApiTypes.STR, description="openid, appid, unionid, customer_id; one row per "
                                      "follower, streamed")})
    @action(detail=True, methods=["get"],
             renderer_classes=[renderers.JSONRenderer, CrmSegmentCsvRenderer])
    def export(self, request: Request, pk: str | None = None) -> StreamingHttpResponse:
        """The segment's followers within your accounts as CSV, streamed as it is read."""
        segment = self.get_object()
        return segment_export_response(scope=self.scope, segment=segment)
