from django.conf import settings
from django.urls import reverse
from rest_framework import serializers

from accounts.crypto_fields import mask_secret
from accounts.models import Membership, OfficialAccount, Role, Team
from accounts.services import ACCOUNT_FIELDS, SECRET_FIELDS


def callback_url(account: OfficialAccount) -> str:
    return settings.SITE_URL.rstrip("/") + reverse("wechat_callback", args=[account.appid])


class AccountSerializer(serializers.ModelSerializer):
    # Secrets are write-only; reads get a hint that is enough to recognise, not to use.
    app_secret = serializers.CharField(write_only=True, required=False, allow_blank=True)
    token = serializers.CharField(write_only=True, required=False, allow_blank=True)
    encoding_aes_key = serializers.CharField(write_only=True, required=False, allow_blank=True)
    app_secret_hint = serializers.SerializerMethodField()
    token_hint = serializers.SerializerMethodField()
    encoding_aes_key_hint = serializers.SerializerMethodField()
    callback_url = serializers.SerializerMethodField()
    health = serializers.CharField(read_only=True)

    class Meta:
        model = OfficialAccount
        fields = [
            "id",
            *ACCOUNT_FIELDS,
            *SECRET_FIELDS,
            "app_secret_hint",
            "token_hint",
            "encoding_aes_key_hint",
            "callback_url",
            "health",
            "granted_bundles",
            "last_callback_at",
            "created_at",
        ]
        read_only_fields = ["granted_bundles", "last_callback_at", "created_at"]
        # The service enforces AppID uniqueness across brands without revealing whose.
        extra_kwargs = {"appid": {"validators": []}}

    def get_app_secret_hint(self, obj: OfficialAccount) -> str:
        return mask_secret(obj.app_secret)

    def get_token_hint(self, obj: OfficialAccount) -> str:
        return mask_secret(obj.token)

    def get_encoding_aes_key_hint(self, obj: OfficialAccount) -> str:
        return mask_secret(obj.encoding_aes_key)

    def get_callback_url(self, obj: OfficialAccount) -> str:
        return callback_url(obj)


class AccountCreatedSerializer(AccountSerializer):
    """The answer to a create: the connection details, shown this once."""

    connection_details = serializers.SerializerMethodField()

    class Meta(AccountSerializer.Meta):
        fields = [*AccountSerializer.Meta.fields, "connection_details"]

    def get_connection_details(self, obj: OfficialAccount) -> dict:
        return {
            "callback_url": callback_url(obj),
            "token": obj.token,
            "encoding_aes_key": obj.encoding_aes_key,
        }


class MembershipSerializer(serializers.ModelSerializer):
    email = serializers.EmailField(source="user.email", read_only=True)
    name = serializers.CharField(source="user.name", read_only=True)
    accounts = serializers.PrimaryKeyRelatedField(many=True, read_only=True)
    account_ids = serializers.ListField(
        child=serializers.IntegerField(), write_only=True, required=False
    )
    team_ids = serializers.ListField(
        child=serializers.IntegerField(), write_only=True, required=False
    )
    teams = serializers.PrimaryKeyRelatedField(many=True, read_only=True)
    role = serializers.ChoiceField(choices=Role.choices)

    class Meta:
        model = Membership
        fields = [
            "id",
            "email",
            "name",
            "role",
            "accounts",
            "account_ids",
            "teams",
            "team_ids",
            "languages",
            "capacity",
            "presence",
            "display_name",
            "created_at",
        ]
        read_only_fields = ["presence", "created_at"]


class InvitationSerializer(serializers.Serializer):
    email = serializers.EmailField()
    role = serializers.ChoiceField(choices=Role.choices)
    account_ids = serializers.ListField(child=serializers.IntegerField(), required=False)


class TeamSerializer(serializers.ModelSerializer):
    accounts = serializers.PrimaryKeyRelatedField(many=True, read_only=True)
    account_ids = serializers.ListField(
        child=serializers.IntegerField(), write_only=True, required=False
    )

    class Meta:
        model = Team
        fields = ["id", "name", "accounts", "account_ids", "languages", "is_central", "created_at"]
        read_only_fields = ["created_at"]
