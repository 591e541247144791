"""REST: the account-to-account paths to one account (`routing.account_paths.paths_for`),
for the transfer dialog: relay, continue, invite, each possible or not, with why."""

from __future__ import annotations

from django.db.models import QuerySet
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from accounts.api_base import ScopedViewSet
from accounts.scope import Scope, access
from messaging import selectors
from messaging.models import Conversation
from routing.account_paths import paths_for


class PathQuerySerializer(serializers.Serializer):
    account = serializers.IntegerField(
        min_value=1, help_text="the account of the brand the conversation would go to")


class PathSerializer(serializers.Serializer):
    path = serializers.ChoiceField(choices=["relay", "continue", "invite"])
    possible = serializers.BooleanField()
    default = serializers.BooleanField(help_text="the path a transfer without one takes")
    why = serializers.CharField(help_text="a sentence in the request's language")


class ConversationPathsViewSet(ScopedViewSet):
    """The transfer-paths action on the conversations the requester may see."""

    queryset = Conversation.objects.none()
    serializer_class = PathSerializer
    lookup_value_regex = "[0-9]+"

    def scoped_queryset(self, scope: Scope) -> QuerySet:
        return selectors.conversation_queryset(scope=scope).select_related(
            "follower", "channel_account")

    @extend_schema(parameters=[PathQuerySerializer], responses=PathSerializer(many=True))
    @action(detail=True, methods=["get"], url_path="transfer-paths", pagination_class=None)
    def transfer_paths(self, request: Request, pk: str | None = None) -> Response:
        """How the conversation could reach `account`: relay (always), continue on it (the
        guest follows it), invite to follow it (a QR code in this chat); which is the
        default, and why each is possible or not. Another brand's account answers 404."""
        conversation = self.get_object()
        given = PathQuerySerializer(data=request.query_params)
        given.is_valid(raise_exception=True)
        to_account = access(selectors.transfer_accounts(scope=self.scope),
                            given.validated_data["account"])
        return Response(PathSerializer(paths_for(conversation, to_account), many=True).data)
