from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest

from accounts.admin_base import ScopedAdmin
from followers.admin import brand_rows
from messaging.models import AutoReply, Conversation, Inbound, Message, PreparedResponse
from messaging.selectors import conversation_queryset


@admin.register(Conversation)
class ConversationAdmin(ScopedAdmin):
    list_display = ["__str__", "channel_account", "handling_account", "team", "assignee",
                    "status", "waiting_since", "last_message_at"]
    list_filter = ["status", "channel_account", "team"]
    search_fields = ["follower__openid", "customer__name"]
    raw_id_fields = ["follower", "customer", "assignee"]

    def scoped(self, request: HttpRequest) -> QuerySet:
        return conversation_queryset(scope=request.tenant)


@admin.register(Message)
class MessageAdmin(ScopedAdmin):
    list_display = ["__str__", "account", "direction", "msg_type", "status", "errcode",
                    "sender_display", "created_at"]
    list_filter = ["direction", "status", "msg_type", "account"]
    search_fields = ["content", "wechat_msg_id"]
    raw_id_fields = ["conversation", "sender"]

    def scoped(self, request: HttpRequest) -> QuerySet:
        return Message.objects.filter(
            conversation__in=conversation_queryset(scope=request.tenant)
        )


@admin.register(Inbound)
class InboundAdmin(ScopedAdmin):
    list_display = ["__str__", "account", "msg_type", "event", "openid", "received_at",
                    "processed_at", "attempts"]
    list_filter = ["msg_type", "event", "account"]
    search_fields = ["dedupe_key", "openid"]

    def scoped(self, request: HttpRequest) -> QuerySet:
        return brand_rows(Inbound, request)


@admin.register(PreparedResponse)
class PreparedResponseAdmin(ScopedAdmin):
    list_display = ["key", "title", "language", "account", "brand", "updated_at"]
    list_filter = ["language", "brand", "account"]
    search_fields = ["key", "title", "body"]

    def scoped(self, request: HttpRequest) -> QuerySet:
        return brand_rows(PreparedResponse, request)


@admin.register(AutoReply)
class AutoReplyAdmin(ScopedAdmin):
    list_display = ["__str__", "kind", "trigger", "language", "account", "is_active"]
    list_filter = ["kind", "is_active", "brand", "account"]
    search_fields = ["trigger", "body"]

    def scoped(self, request: HttpRequest) -> QuerySet:
        return brand_rows(AutoReply, request)
