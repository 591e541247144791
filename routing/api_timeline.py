"""REST: a conversation's timeline (routing decisions and transfers, with sentences), and
the requester's mentions (private consultation): the open ones, ending one, and whom a
note may mention."""

from django.db.models import QuerySet
from drf_spectacular.utils import extend_schema
from rest_framework import mixins
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from accounts.api_base import ScopedViewSet
from accounts.scope import Scope
from messaging.models import Conversation, Mention
from messaging.selectors import conversation_queryset
from routing import mentions
from routing.serializers_timeline import (
    CandidateSerializer,
    MentionSerializer,
    TimelineEntrySerializer,
)
from routing.timeline import timeline_for


class TimelineViewSet(ScopedViewSet):
    """The timeline action on a conversation; messaging's viewset keeps the rest."""

    queryset = Conversation.objects.none()
    serializer_class = TimelineEntrySerializer

    def scoped_queryset(self, scope: Scope) -> QuerySet:
        return conversation_queryset(scope=scope)

    @extend_schema(responses=TimelineEntrySerializer(many=True))
    @action(detail=True, methods=["get"], pagination_class=None)
    def timeline(self, request: Request, pk: str | None = None) -> Response:
        """Every routing decision (with the rule that made it) and every transfer (who
        held it, where it went, why, by which path, how it ended), oldest first, each with
        a sentence in the request's language."""
        conversation = self.get_object()
        return Response(TimelineEntrySerializer(timeline_for(conversation), many=True).data)


class MentionViewSet(mixins.ListModelMixin, ScopedViewSet):
    """My open mentions: conversations a colleague asked me to read, until I end the
    mention or the conversation is resolved."""

    serializer_class = MentionSerializer

    def scoped_queryset(self, scope: Scope) -> QuerySet:
        return mentions.mention_list(scope=scope)

    @extend_schema(request=None, responses=MentionSerializer)
    @action(detail=True, methods=["post"])
    def end(self, request: Request, pk: str | None = None) -> Response:
        """Dismiss the mention: the conversation leaves my screen unless I see it anyway."""
        mention: Mention = self.get_object()
        return Response(MentionSerializer(mentions.mention_end(scope=self.scope,
                                                               mention=mention)).data)

    @extend_schema(responses=CandidateSerializer(many=True))
    @action(detail=False, methods=["get"], pagination_class=None, filter_backends=[])
    def candidates(self, request: Request) -> Response:
        """Whom a private note may mention: the brand's other members."""
        return Response(CandidateSerializer(mentions.mention_candidates(scope=self.scope),
                                            many=True).data)
