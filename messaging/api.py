"""REST: conversations (list, filter, read, resolve, snooze; assign and claim next are
routing's, under the same prefix: `routing.api_assignment`), their
messages (list, send a reply or a note, retry a failed reply, a
message's stored image) and the prepared-response library."""

import mimetypes
from datetime import timedelta

import django_filters
from django import forms
from django.db.models import QuerySet
from django.http import FileResponse
from django.utils import timezone
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import exceptions, mixins, status
from rest_framework.decorators import action
from rest_framework.filters import OrderingFilter
from rest_framework.parsers import JSONParser, MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response

from accounts.api_base import ScopedViewSet
from accounts.api_filters import FilterSet
from accounts.api_schema import answers
from accounts.errors import NotInScope
from accounts.models import Membership
from accounts.scope import Scope, access
from messaging import prepared, selectors, services
from messaging.models import Conversation, Message, PreparedResponse
from messaging.serializers import (
    ConversationDetailSerializer,
    ConversationFiltersSerializer,
    ConversationSerializer,
    MessageCreateSerializer,
    MessageSerializer,
    MessageUploadSerializer,
    PreparedResponseSerializer,
    PreparedResponseUpdateSerializer,
    SnoozeSerializer,
)

# Stored files served as what they are; anything else (voice, video) is a download.
INLINE_TYPES = frozenset({"image/jpeg", "image/png", "image/gif", "image/bmp"})


def _mentioned(scope: Scope, ids: list[int]) -> list[Membership]:
    """The members a note mentions, by membership id: any member of the brand (a colleague
    outside my own accounts is whom one consults), else 404."""
    return [access(Membership.objects.filter(brand_id=scope.brand_id), pk)
            for pk in dict.fromkeys(ids)]


class ConversationViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, ScopedViewSet):
    """Conversations the requester may see: an agent sees those of the accounts they serve
    and of their teams; a brand admin (or an API key) sees all."""

    serializer_class = ConversationSerializer
    # Ids are numbers: a word after ``conversations/`` is an action of one of routing's
    # viewsets under the same prefix (claim_next, …), not a conversation's id.
    lookup_value_regex = "[0-9]+"
    # The list's own filters (ConversationFiltersSerializer) and ordering; no search.
    filter_backends = [OrderingFilter]
    ordering_fields = ["last_message_at", "waiting_since", "opened_at"]

    def scoped_queryset(self, scope: Scope) -> QuerySet:
        if self.action == "list":
            given = ConversationFiltersSerializer(data=self.request.query_params)
            given.is_valid(raise_exception=True)
            # Checked, then handed on as the query string's text (waiting=0 still filters).
            filters = {name: str(value) for name, value in given.validated_data.items()}
            return selectors.conversation_list(scope=scope, filters=filters)
        return selectors.conversation_list(scope=scope)

    def get_serializer_class(self) -> type:
        return ConversationDetailSerializer if self.action == "retrieve" else ConversationSerializer

    @extend_schema(parameters=[ConversationFiltersSerializer])
    def list(self, request: Request) -> Response:
        return super().list(request)

    def get_serializer_context(self) -> dict:
        context = super().get_serializer_context()
        if getattr(self, "swagger_fake_view", False):
            return context  # schema generation has no requester
        # The requester, for what depends on who asks (the detail's reply_identity).
        return {**context, "by": self.scope.membership}

    def _detail(self, conversation: Conversation) -> Response:
        fresh = selectors.conversation_list(scope=self.scope).get(pk=conversation.pk)
        return Response(ConversationDetailSerializer(
            fresh, context=self.get_serializer_context()).data)

    @extend_schema(request=None, responses=ConversationDetailSerializer)
    @action(detail=True, methods=["post"])
    def resolve(self, request: Request, pk: str | None = None) -> Response:
        conversation = services.conversation_resolve(
            scope=self.scope, conversation=self.get_object()
        )
        return self._detail(conversation)

    @extend_schema(request=SnoozeSerializer, responses=ConversationDetailSerializer)
    @action(detail=True, methods=["post"])
    @answers(409)
    def snooze(self, request: Request, pk: str | None = None) -> Response:
        """Snooze until a time, or for a number of minutes."""
        conversation = self.get_object()
        serializer = SnoozeSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        until = data.get("until") or timezone.now() + timedelta(minutes=data["minutes"])
        conversation = services.conversation_snooze(
            scope=self.scope, conversation=conversation, until=until
        )
        return self._detail(conversation)

    @extend_schema(responses={
        (200, "image/*"): OpenApiResponse(OpenApiTypes.BINARY, description="an image"),
        (200, "application/octet-stream"): OpenApiResponse(
            OpenApiTypes.BINARY, description="any other file, as a download"
        ),
    })
    @action(detail=True, methods=["get"], url_path=r"media/(?P<message_id>[0-9]+)",
            url_name="media")
    def media(self, request: Request, pk: str | None = None,
              message_id: str | None = None) -> FileResponse:
        """The stored file of a message this conversation's history shows (an image the
        follower sent, an agent's image reply). 404 when there is none."""
        conversation = self.get_object()
        message: Message = access(
            selectors.message_media(scope=self.scope, conversation=conversation), message_id
        )
        try:
            handle = message.media.open("rb")
        except FileNotFoundError as exc:
            raise NotInScope() from exc
        name = message.media.name.rsplit("/", 1)[-1]
        content_type = mimetypes.guess_type(name)[0] or ""
        inline = content_type in INLINE_TYPES
        response = FileResponse(
            handle, as_attachment=not inline, filename=name,
            content_type=content_type if inline else "application/octet-stream",
        )
        # Uploaded bytes are shown, never run: no scripts, no sniffing, not shared caches.
        response["Content-Security-Policy"] = "default-src 'none'; sandbox"
        response["X-Content-Type-Options"] = "nosniff"
        response["Cache-Control"] = "private, max-age=3600"
        return response

    @extend_schema(request=None, responses=MessageSerializer)
    @action(detail=True, methods=["post"], url_path=r"messages/(?P<message_id>[0-9]+)/retry",
            url_name="message-retry")
    @answers(409)
    def retry_message(self, request: Request, pk: str | None = None,
                      message_id: str | None = None) -> Response:
        """Send a failed reply of this conversation again: the same message goes back to
        the queue, never a second one. 409 when it is not failed, when WeChat may have
        delivered it (`retryable` is false), or when the reply window is closed; 404 for a
        message that is not this conversation's."""
        conversation = self.get_object()
        message: Message = access(
            selectors.conversation_messages(scope=self.scope, conversation=conversation),
            message_id,
        )
        message = services.message_retry(scope=self.scope, conversation=conversation,
                                         message=message, by=self.scope.membership)
        return Response(MessageSerializer(message,
                                          context={"conversation_id": conversation.pk}).data)

    @extend_schema(responses=dict[str, int])
    @action(detail=False, methods=["get"])
    def counts(self, request: Request) -> Response:
        """Conversations needing attention (open or pending) in each of my boxes, and my
        snoozed ones (``snoozed``)."""
        return Response(selectors.conversation_counts(scope=self.scope))

    @extend_schema(methods=["get"], responses=MessageSerializer(many=True))
    @extend_schema(methods=["post"], request={
        "application/json": MessageCreateSerializer,
        "multipart/form-data": MessageUploadSerializer,
    }, responses={201: MessageSerializer})
    # An image reply is uploaded as multipart; everything else is JSON.
    @action(detail=True, methods=["get", "post"], filter_backends=[],
            parser_classes=[JSONParser, MultiPartParser])
    @answers(409, method="post")
    def messages(self, request: Request, pk: str | None = None) -> Response:
        """GET: the conversation's messages and notes. POST: send a reply (text, prepared
        response, image upload or media id; sign=true signs a text) or leave a private note
        (kind=note)."""
        conversation = self.get_object()
        if request.method == "GET":
            qs = selectors.conversation_messages(scope=self.scope, conversation=conversation)
            return self._paginated(qs, conversation)
        upload = request.content_type.startswith("multipart/")
        serializer = (MessageUploadSerializer if upload else MessageCreateSerializer)(
            data=request.data
        )
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        if data["mentions"] and data["kind"] != "note":
            raise exceptions.ValidationError(
                {"mentions": [_("Only a private note can mention colleagues.")]})
        if data["kind"] == "note":
            message = services.message_note(
                scope=self.scope, conversation=conversation, text=data["text"],
                by=self.scope.membership, mentions=_mentioned(self.scope, data["mentions"]),
            )
        else:
            message = services.message_reply(
                scope=self.scope, conversation=conversation, text=data["text"],
                media_id=data["media_id"], prepared_key=data["prepared_key"],
                language=data["language"], image=data.get("image"), by=self.scope.membership,
                sign=data["sign"],
            )
        message.refresh_from_db()
        data = MessageSerializer(message, context={"conversation_id": conversation.pk}).data
        return Response(data, status=status.HTTP_201_CREATED)

    @extend_schema(responses=MessageSerializer(many=True))
    @action(detail=True, methods=["get"], filter_backends=[])
    def history(self, request: Request, pk: str | None = None) -> Response:
        """The customer's messages across all their accounts that I may see, each marked
        with its account."""
        conversation = self.get_object()
        return self._paginated(
            selectors.conversation_history(scope=self.scope, conversation=conversation),
            conversation,
        )

    def _paginated(self, qs: QuerySet, conversation: Conversation) -> Response:
        page = self.paginate_queryset(qs)
        # Media links go through the conversation being read: its history is the door.
        context = {"conversation_id": conversation.pk}
        return self.get_paginated_response(MessageSerializer(page, many=True,
                                                             context=context).data)


class IdFilter(django_filters.Filter):
    field_class = forms.IntegerField


class PreparedResponseFilter(FilterSet):
    # By id, not as a choice among every brand's accounts: a foreign id must not answer
    # differently from a missing one.
    account = IdFilter(field_name="account_id")

    class Meta:
        model = PreparedResponse
        fields = ["key", "language"]


class PreparedResponseViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    mixins.DestroyModelMixin,
    ScopedViewSet,
):
    """The prepared-response library: brand-wide versions and per-account overrides, one per
    language. Owners and admins edit all of it, managers their accounts' overrides."""

    serializer_class = PreparedResponseSerializer
    filterset_class = PreparedResponseFilter
    search_fields = ["key", "title", "body"]
    ordering_fields = ["key", "language", "updated_at"]

    def scoped_queryset(self, scope: Scope) -> QuerySet:
        return prepared.prepared_list(scope=scope)

    def _account(self, account_id: int | None) -> object:
        return None if account_id is None else access(self.scope.accounts(), account_id)

    @answers(404, 409)
    def create(self, request: Request) -> Response:
        serializer = PreparedResponseSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        created = prepared.prepared_create(
            scope=self.scope, account=self._account(data.get("account_id")), key=data["key"],
            title=data.get("title", ""), language=data["language"], body=data["body"],
        )
        return Response(PreparedResponseSerializer(created).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=PreparedResponseUpdateSerializer)
    @answers(409)
    def update(self, request: Request, pk: str | None = None, partial: bool = False) -> Response:
        instance: PreparedResponse = self.get_object()
        serializer = PreparedResponseUpdateSerializer(
            instance, data=request.data, partial=partial
        )
        serializer.is_valid(raise_exception=True)
        updated = prepared.prepared_update(
            scope=self.scope, prepared=instance, **serializer.validated_data
        )
        return Response(PreparedResponseSerializer(updated).data)

    @extend_schema(request=PreparedResponseUpdateSerializer)
    @answers(409)
    def partial_update(self, request: Request, pk: str | None = None) -> Response:
        return self.update(request, pk, partial=True)

    def destroy(self, request: Request, pk: str | None = None) -> Response:
        prepared.prepared_delete(scope=self.scope, prepared=self.get_object())
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(
        parameters=[OpenApiParameter("account", int), OpenApiParameter("q", str),
                    OpenApiParameter("language", str)],
        responses=PreparedResponseSerializer(many=True),
    )
    # Its own parameters only: the library's filters, search and ordering do not apply.
    @action(detail=False, methods=["get"], filter_backends=[])
    @answers(404)
    def search(self, request: Request) -> Response:
        """What the reply box offers for an account and language: one version per key, in
        pages like every list (a brand's library can hold hundreds)."""
        params = request.query_params
        account_id = params.get("account")
        found = prepared.prepared_search(
            scope=self.scope, account=self._account(account_id) if account_id else None,
            q=params.get("q", ""), language=params.get("language", ""),
        )
        page = self.paginate_queryset(found)
        return self.get_paginated_response(PreparedResponseSerializer(page, many=True).data)
