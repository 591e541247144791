"""REST: transfers. On a conversation: hand it on (to an agent, a team or an account),
where it may go, its ownership history, "hand to a <language> speaker". On their own:
the transfers waiting for my answer, one transfer, accept and decline."""

from __future__ import annotations

from django.db.models import Count, Q, QuerySet
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, serializers, status
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from accounts.api_base import ScopedViewSet
from accounts.api_schema import answers
from accounts.models import Membership
from accounts.scope import Scope, access
from messaging import selectors
from messaging.models import Conversation
from messaging.serializers import ConversationDetailSerializer
from routing import transfers
from routing.models import Transfer
from routing.serializers_transfers import (
    DeclineSerializer,
    SpeakerSerializer,
    TransferListSerializer,
    TransferRecordSerializer,
    TransferSerializer,
    TransferTargetsSerializer,
)

_HELD = (Conversation.Status.OPEN, Conversation.Status.PENDING, Conversation.Status.SNOOZED)


def transfer_agents(*, scope: Scope) -> QuerySet[Membership]:
    """The members a conversation may be handed to: every member of the brand, with the
    conversations each holds now (`load`)."""
    return (Membership.objects.filter(brand_id=scope.brand_id)
            .select_related("user").prefetch_related("accounts", "teams")
            .annotate(load=Count("conversations",
                                 filter=Q(conversations__status__in=_HELD)))
            .order_by("display_name", "user__name", "pk"))


class TransferAnswerSerializer(ConversationDetailSerializer):
    """The conversation after a transfer, and what the agent must know about it."""

    transfer_notice = serializers.CharField(
        read_only=True, help_text="a sentence for the agent, e.g. that the target account "
        "has no reply window open and the guest was asked to write there; empty: nothing")

    class Meta(ConversationDetailSerializer.Meta):
        fields = [*ConversationDetailSerializer.Meta.fields, "transfer_notice"]
        read_only_fields = fields


class ConversationTransferViewSet(ScopedViewSet):
    """Routing's transfer actions on the conversations the requester may see (messaging's
    viewset keeps the list and the details)."""

    serializer_class = ConversationDetailSerializer
    lookup_value_regex = "[0-9]+"

    def scoped_queryset(self, scope: Scope) -> QuerySet:
        return selectors.conversation_list(scope=scope)

    def _detail(self, conversation: Conversation, *, notice: str = "") -> Response:
        """The conversation after the change; 204 when it left the requester's sight.
        ``notice``: what the agent must know about the hand-over (a continue without a
        reply window on the target), as ``transfer_notice``."""
        fresh = selectors.conversation_list(scope=self.scope).filter(pk=conversation.pk).first()
        if fresh is None:
            return Response(status=status.HTTP_204_NO_CONTENT)
        data = ConversationDetailSerializer(
            fresh, context={**self.get_serializer_context(), "by": self.scope.membership}).data
        return Response({**data, "transfer_notice": notice})

    @extend_schema(request=TransferSerializer,
                   responses={200: TransferAnswerSerializer, 204: None})
    @action(detail=True, methods=["post"])
    @answers(409)
    def transfer(self, request: Request, pk: str | None = None) -> Response:
        """Hand over to an agent, a team, or another account of the brand (optionally one
        of its teams or agents, by relay, continue or invite); the note is required and
        travels with it. 204 when the conversation has left the requester's scope."""
        conversation = self.get_object()
        serializer = TransferSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        targets = {}
        if data["account"] is not None:
            targets["to_account"] = access(
                selectors.transfer_accounts(scope=self.scope), data["account"])
        if data["team"] is not None:
            targets["to_team"] = access(selectors.transfer_teams(scope=self.scope), data["team"])
        if data["agent"] is not None:
            targets["to_agent"] = access(transfer_agents(scope=self.scope), data["agent"])
        transfer = transfers.transfer_create(
            scope=self.scope, conversation=conversation, path=data["path"], note=data["note"],
            by=self.scope.membership, **targets,
        )
        return self._detail(conversation, notice=getattr(transfer, "notice", ""))

    @extend_schema(responses=TransferTargetsSerializer)
    @action(detail=False, methods=["get"], url_path="transfer-targets", url_name="targets")
    def transfer_targets(self, request: Request) -> Response:
        """Where `transfer` may hand a conversation: the brand's active accounts, its
        teams and its members (presence, languages, load and capacity), including those
        outside the requester's own queues."""
        accounts = selectors.transfer_accounts(scope=self.scope).order_by("name")
        teams = selectors.transfer_teams(scope=self.scope).prefetch_related("accounts")
        return Response(TransferTargetsSerializer({
            "accounts": accounts, "teams": teams.order_by("name"),
            "agents": transfer_agents(scope=self.scope),
        }).data)

    @extend_schema(responses=TransferRecordSerializer(many=True))
    @action(detail=True, methods=["get"], url_path="transfers", url_name="history")
    def history(self, request: Request, pk: str | None = None) -> Response:
        """The conversation's ownership history: every hand-over, oldest first."""
        conversation = self.get_object()
        rows = transfers.transfer_list(scope=self.scope).filter(
            conversation=conversation).order_by("created_at", "pk")
        return Response(TransferRecordSerializer(rows, many=True).data)

    @extend_schema(request=SpeakerSerializer,
                   responses={200: ConversationDetailSerializer, 204: None})
    @action(detail=True, methods=["post"], url_path="hand-to-speaker")
    @answers(409)
    def hand_to_speaker(self, request: Request, pk: str | None = None) -> Response:
        """Hand to an online speaker of the language with room in the local team, else
        to a central team that speaks it (409 with a sentence when nobody can)."""
        conversation = self.get_object()
        serializer = SpeakerSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        transfers.transfer_to_speaker(
            scope=self.scope, conversation=conversation,
            language=serializer.validated_data["language"],
            note=serializer.validated_data["note"], by=self.scope.membership,
        )
        return self._detail(conversation)


class TransferViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, ScopedViewSet):
    """Transfers: the list is those waiting for my answer; a transfer I may read (its
    conversation is mine to see, or I sent it or was named in it)."""

    serializer_class = TransferRecordSerializer
    lookup_value_regex = "[0-9]+"
    pagination_class = None

    def scoped_queryset(self, scope: Scope) -> QuerySet:
        return transfers.transfer_list(scope=scope)

    @extend_schema(parameters=[TransferListSerializer])
    def list(self, request: Request) -> Response:
        """Pending transfers waiting for my answer, newest first; with `sent=1`, those I
        sent that still wait for one. An API key has neither."""
        given = TransferListSerializer(data=request.query_params)
        given.is_valid(raise_exception=True)
        if given.validated_data["sent"]:
            rows = transfers.transfers_sent(scope=self.scope)
        else:
            rows = transfers.transfers_incoming(scope=self.scope)
        return Response(TransferRecordSerializer(rows, many=True).data)

    def _fresh(self, transfer: Transfer) -> Response:
        return Response(TransferRecordSerializer(
            transfers.transfer_list(scope=self.scope).get(pk=transfer.pk)).data)

    @extend_schema(request=None, responses=TransferRecordSerializer)
    @action(detail=True, methods=["post"])
    @answers(409)
    def accept(self, request: Request, pk: str | None = None) -> Response:
        """Take the conversation: the named agent, or anyone of the receiving side who may
        hold it and has room."""
        transfer = transfers.transfer_accept(scope=self.scope, transfer=self.get_object())
        return self._fresh(transfer)

    @extend_schema(request=DeclineSerializer, responses=TransferRecordSerializer)
    @action(detail=True, methods=["post"])
    @answers(409)
    def decline(self, request: Request, pk: str | None = None) -> Response:
        """Say no (optionally why): the conversation goes back where it came from."""
        transfer = self.get_object()
        serializer = DeclineSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        transfer = transfers.transfer_decline(
            scope=self.scope, transfer=transfer, reason=serializer.validated_data["reason"])
        return self._fresh(transfer)
