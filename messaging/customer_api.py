"""The customers REST resource: followers.api_identity's, with the timeline (it reads
conversations, so it lives in messaging)."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from followers.api_identity import CustomerViewSetBase
from followers.serializers_identity import CrmTimelineEntrySerializer
from messaging.customer_timeline import customer_timeline


class CustomerViewSet(CustomerViewSetBase):
    @extend_schema(responses=CrmTimelineEntrySerializer(many=True))
    @action(detail=True, methods=["get"], pagination_class=None)
    def timeline(self, request: Request, pk: str | None = None) -> Response:
        """The customer's timeline across the accounts the requester serves, newest first:
        follows, unfollows, scans, tag changes, merges, profile changes and conversations
        (at most 300 entries)."""
        customer = self.get_object()
        entries = customer_timeline(scope=self.scope, customer=customer)
        return Response(CrmTimelineEntrySerializer(entries, many=True).data)
