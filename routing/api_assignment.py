"""REST: a conversation's assignment and claim next (routing's actions under the
``conversations`` prefix: `routing.api_routes`). Answers are messaging's conversation
details, as before the move."""

from __future__ import annotations

from django.db.models import QuerySet
from django.utils.translation import gettext as _
from drf_spectacular.utils import extend_schema
from rest_framework import exceptions, status
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from accounts.api_base import ScopedViewSet
from accounts.api_schema import answers
from accounts.scope import Scope, access
from accounts.selectors import member_list
from messaging import selectors
from messaging.models import Conversation
from messaging.serializers import AssignSerializer, ConversationDetailSerializer
from routing import assignment


class ConversationRoutingViewSet(ScopedViewSet):
    """Assign a conversation, or claim the next one of my queues."""

    serializer_class = ConversationDetailSerializer

    def scoped_queryset(self, scope: Scope) -> QuerySet:
        return selectors.conversation_list(scope=scope)

    def _detail(self, conversation: Conversation) -> Response:
        fresh = selectors.conversation_list(scope=self.scope).get(pk=conversation.pk)
        context = {**self.get_serializer_context(), "by": self.scope.membership}
        return Response(ConversationDetailSerializer(fresh, context=context).data)

    @extend_schema(request=AssignSerializer, responses=ConversationDetailSerializer)
    @action(detail=True, methods=["post"])
    @answers(409)
    def assign(self, request: Request, pk: str | None = None) -> Response:
        """Assign to a member (by membership id) or unassign with null. 409 when the member
        cannot hold it, or already holds as many as their capacity."""
        conversation = self.get_object()
        serializer = AssignSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        assignee_id = serializer.validated_data["assignee"]
        assignee = None
        if assignee_id is not None:
            assignee = access(member_list(scope=self.scope), assignee_id)
        conversation = assignment.conversation_assign(
            scope=self.scope, conversation=conversation, assignee=assignee
        )
        return self._detail(conversation)

    @extend_schema(request=None, responses={200: ConversationDetailSerializer, 204: None})
    @action(detail=False, methods=["post"])
    @answers(409)
    def claim_next(self, request: Request) -> Response:
        """Take the next conversation of my queues: one close to its response target or
        whose reply window is closing first, then the longest waiting (204 when none; 409
        at capacity). Only a member has queues: an API key gets 403."""
        if self.scope.membership is None:
            raise exceptions.PermissionDenied(
                _("An API key has no queues: only a member can claim a conversation.")
            )
        conversation = assignment.conversation_claim_next(scope=self.scope)
        if conversation is None:
            return Response(status=status.HTTP_204_NO_CONTENT)
        return self._detail(conversation)
