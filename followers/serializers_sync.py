"""REST shapes of the CRM's sync part: follower sync jobs and the follower list."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema_serializer
from rest_framework import serializers

from accounts.serializers import StrictInput
from followers.models import Follower
from followers.models_sync import FollowerSync
from followers.names import person_display_name
from followers.sync import sync_progress


class CrmFollowerSyncSerializer(serializers.ModelSerializer):
    account_name = serializers.CharField(source="account.name", read_only=True)
    kind = serializers.CharField(read_only=True, help_text=_("full or incremental."))
    percent = serializers.SerializerMethodField(
        help_text=_("Progress over the phases, 0 to 100."))
    status_label = serializers.SerializerMethodField(
        help_text=_("The status in the requester's language."))
    kind_label = serializers.SerializerMethodField(
        help_text=_("The kind in the requester's language."))
    phase_label = serializers.SerializerMethodField(
        help_text=_("The phase in the requester's language."))

    class Meta:
        model = FollowerSync
        fields = [
            "id", "account", "account_name", "kind", "status", "phase", "status_label",
            "kind_label", "phase_label", "reason", "percent",
            "list_total", "listed", "created_followers", "unsubscribed_followers",
            "profiles_total", "profiles_done", "linked", "errors_count", "last_errors",
            "started_by", "created_at", "started_at", "finished_at", "heartbeat_at",
            "resume_after",
        ]
        read_only_fields = fields

    def get_percent(self, sync: FollowerSync) -> int:
        return int(sync_progress(sync)["percent"])

    def get_status_label(self, sync: FollowerSync) -> str:
        return str(sync.get_status_display())

    def get_kind_label(self, sync: FollowerSync) -> str:
        return str(sync.get_kind_display())

    def get_phase_label(self, sync: FollowerSync) -> str:
        return str(sync.get_phase_display())


class CrmFollowerSyncStartSerializer(StrictInput, serializers.Serializer):
    account = serializers.IntegerField(min_value=1, help_text=_("The account to sync."))
    # Plain text checked here rather than a choice field: "kind" names other choice sets
    # in the API (accounts, QR codes), and their enums would collide in the schema.
    kind = serializers.CharField(
        default=FollowerSync.Kind.FULL, max_length=12,
        help_text=_("full: every profile again; incremental: only new or stale ones."))

    def validate_kind(self, value: str) -> str:
        if value not in FollowerSync.Kind.values:
            raise serializers.ValidationError(_("Choose full or incremental."))
        return value


class CrmFollowerSerializer(serializers.ModelSerializer):
    display_name = serializers.SerializerMethodField()
    customer_name = serializers.SerializerMethodField()

    class Meta:
        model = Follower
        fields = [
            "id", "account", "customer", "display_name", "customer_name", "openid",
            "unionid", "subscribed", "subscribed_at", "unsubscribed_at", "language",
            "region", "remark", "gender", "subscribe_scene", "qr_scene",
            "profile_fetched_at", "created_at",
        ]
        read_only_fields = fields

    def get_display_name(self, follower: Follower) -> str:
        return str(person_display_name(customer=follower.customer, follower=follower))

    def get_customer_name(self, follower: Follower) -> str:
        customer: Any = follower.customer
        return customer.name if customer is not None else ""


# The list answers one page object (keyset: no count of everything), which drf-spectacular
# would otherwise draw as an array of them, as for any list action.
@extend_schema_serializer(many=False)
class CrmFollowerPageSerializer(serializers.Serializer):
    results = CrmFollowerSerializer(many=True)
    next_after = serializers.IntegerField(
        allow_null=True, help_text=_("Give as `after` for the next page; null on the last."))
    count = serializers.IntegerField(
        allow_null=True, help_text=_("How many match, only when cheap to know; else null."))
