"""REST of the CRM's identity part: customers (list, search, detail, PATCH the profile and
attributes, merge, dismiss a duplicate, suggestions), merge records (unmerge) and the
brand's custom attributes.

Who sees a customer (followers.selectors_identity): brand-wide members and API keys see
every customer of the brand; a member serving some accounts sees the customers with a
follower on one of them. Any member who sees both customers may merge or unmerge them;
owners and admins define the attributes. The timeline (it reads conversations) is added
by messaging.customer_api, which registers the customers resource.
"""

from __future__ import annotations

from django.db.models import Prefetch, QuerySet
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import mixins, serializers, status
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from accounts.api_base import ScopedViewSet
from accounts.errors import InvalidInput
from accounts.scope import Scope, access
from followers import attributes as attributes_service
from followers.customers import customer_update
from followers.duplicates import duplicate_suggestions, suggestion_dismiss
from followers.merge import customer_merge, customer_unmerge
from followers.models import Customer, CustomerAttribute, Follower
from followers.selectors_identity import customer_list, customer_scope, merge_list
from followers.serializers_identity import (
    CrmCustomerAttributeSerializer,
    CrmCustomerMergeSerializer,
    CrmCustomerOtherSerializer,
    CrmCustomerSerializer,
    CrmCustomerUpdateSerializer,
    CrmSuggestionSerializer,
)


def field_errors(exc: InvalidInput) -> serializers.ValidationError:
    return serializers.ValidationError(exc.fields or {"detail": exc.message})


def _with_followers(qs: QuerySet[Customer]) -> QuerySet[Customer]:
    followers = Follower.objects.select_related("account", "qrcode__campaign").prefetch_related(
        "tags").order_by("subscribed_at", "pk")
    return qs.prefetch_related(Prefetch("followers", queryset=followers))


class CustomerViewSetBase(mixins.ListModelMixin, mixins.RetrieveModelMixin, ScopedViewSet):
    """The brand's customers: one per person across its accounts."""

    serializer_class = CrmCustomerSerializer
    filter_backends: list = []
    http_method_names = ["get", "patch", "post", "head", "options"]

    def scoped_queryset(self, scope: Scope) -> QuerySet:
        if self.action in ("list", "suggestions"):
            q = self.request.query_params.get("q", "")
            return _with_followers(customer_list(scope=scope, q=q))
        return _with_followers(customer_scope(scope=scope).order_by("pk"))

    def get_serializer_context(self) -> dict:
        context = super().get_serializer_context()
        if not getattr(self, "swagger_fake_view", False):
            context["scope"] = self.scope
        return context

    def _fresh(self, customer: Customer) -> dict:
        row = _with_followers(customer_scope(scope=self.scope)).get(pk=customer.pk)
        return CrmCustomerSerializer(row, context=self.get_serializer_context()).data

    @extend_schema(parameters=[OpenApiParameter(
        "q", OpenApiTypes.STR, description="Name, phone, email, unionid, openid or remark")])
    def list(self, request: Request) -> Response:
        return super().list(request)

    @extend_schema(request=CrmCustomerUpdateSerializer, responses=CrmCustomerSerializer)
    def partial_update(self, request: Request, pk: str | None = None) -> Response:
        """Change profile fields and attribute values (validated against the brand's
        attributes; null removes a value). Announces `customer.updated`."""
        customer = self.get_object()
        serializer = CrmCustomerUpdateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        attributes = data.pop("attributes", None)
        try:
            customer = customer_update(customer=customer, by=self.scope.membership,
                                       profile=data, attributes=attributes)
        except InvalidInput as exc:
            raise field_errors(exc) from exc
        return Response(self._fresh(customer))

    @extend_schema(request=CrmCustomerOtherSerializer, responses=CrmCustomerMergeSerializer)
    @action(detail=True, methods=["post"])
    def merge(self, request: Request, pk: str | None = None) -> Response:
        """Merge the customer ``other`` into this one (this one is kept). Audited; undo it
        with /customer-merges/{id}/unmerge/."""
        keep = self.get_object()
        serializer = CrmCustomerOtherSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        other = access(customer_scope(scope=self.scope), serializer.validated_data["other"])
        try:
            record = customer_merge(keep=keep, merge=other, by=self.scope.membership)
        except InvalidInput as exc:
            raise field_errors(exc) from exc
        return Response(CrmCustomerMergeSerializer(record).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=CrmCustomerOtherSerializer, responses={204: None})
    @action(detail=True, methods=["post"])
    def dismiss(self, request: Request, pk: str | None = None) -> Response:
        """Say this customer and ``other`` are not one person: the pair is not suggested
        again."""
        customer = self.get_object()
        serializer = CrmCustomerOtherSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        other = access(customer_scope(scope=self.scope), serializer.validated_data["other"])
        try:
            suggestion_dismiss(scope=self.scope, a=customer, b=other, by=self.scope.membership)
        except InvalidInput as exc:
            raise field_errors(exc) from exc
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(responses=CrmSuggestionSerializer(many=True))
    @action(detail=False, methods=["get"], pagination_class=None)
    def suggestions(self, request: Request) -> Response:
        """Likely duplicates (same phone, email or remark), for a person to merge or
        dismiss; nothing is merged on its own. At most 200 pairs."""
        found = duplicate_suggestions(scope=self.scope)
        return Response(CrmSuggestionSerializer(
            [s.__dict__ for s in found], many=True).data)


class CustomerMergeViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, ScopedViewSet):
    """Merge records: who merged which customer into which, when, and what moved."""

    serializer_class = CrmCustomerMergeSerializer
    filter_backends: list = []

    def scoped_queryset(self, scope: Scope) -> QuerySet:
        return merge_list(scope=scope)

    @extend_schema(request=None, responses=CrmCustomerMergeSerializer)
    @action(detail=True, methods=["post"])
    def unmerge(self, request: Request, pk: str | None = None) -> Response:
        """Undo the merge: the followers, timeline, conversations, profile fields, notes
        and attribute values it moved go back."""
        record = self.get_object()
        try:
            record = customer_unmerge(merge_record=record, by=self.scope.membership)
        except InvalidInput as exc:
            raise field_errors(exc) from exc
        return Response(CrmCustomerMergeSerializer(record).data)


class CustomerAttributeViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin,
                               ScopedViewSet):
    """The brand's custom customer attributes (text, number, date, choice). Everyone reads
    them; owners and admins change them."""

    serializer_class = CrmCustomerAttributeSerializer
    filter_backends: list = []
    pagination_class = None

    def scoped_queryset(self, scope: Scope) -> QuerySet:
        return attributes_service.attribute_list(scope=scope)

    def create(self, request: Request) -> Response:
        serializer = CrmCustomerAttributeSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        try:
            row = attributes_service.attribute_create(scope=self.scope,
                                                      **serializer.validated_data)
        except InvalidInput as exc:
            raise field_errors(exc) from exc
        return Response(CrmCustomerAttributeSerializer(row).data,
                        status=status.HTTP_201_CREATED)

    def update(self, request: Request, pk: str | None = None, partial: bool = False
               ) -> Response:
        row: CustomerAttribute = self.get_object()
        serializer = CrmCustomerAttributeSerializer(row, data=request.data, partial=partial)
        serializer.is_valid(raise_exception=True)
        try:
            row = attributes_service.attribute_update(scope=self.scope, attribute=row,
                                                      **serializer.validated_data)
        except InvalidInput as exc:
            raise field_errors(exc) from exc
        return Response(CrmCustomerAttributeSerializer(row).data)

    def partial_update(self, request: Request, pk: str | None = None) -> Response:
        return self.update(request, pk, partial=True)

    def destroy(self, request: Request, pk: str | None = None) -> Response:
        row = self.get_object()
        attributes_service.attribute_delete(scope=self.scope, attribute=row)
        return Response(status=status.HTTP_204_NO_CONTENT)

