from collections.abc import Mapping
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import RegexValidator
from django.db.models import Manager
from django.http import QueryDict
from django.urls import reverse
from django.utils.translation import gettext_lazy as _
from rest_framework import serializers

from accounts.crypto_fields import mask_secret
from accounts.forms import LANGUAGE_CHOICES
from accounts.models import Invitation, Membership, OfficialAccount, Role, Team
from accounts.services import (
    ACCOUNT_FIELDS,
    APPID_RE,
    CALLBACK_TOKEN_RE,
    ENCODING_AES_KEY_RE,
    ORIGINAL_ID_RE,
    SECRET_FIELDS,
)
from accounts.time_zones import time_zone_names


def callback_url(account: OfficialAccount) -> str:
    return settings.SITE_URL.rstrip("/") + reverse("wechat_callback", args=[account.appid])


# What each kind of field takes from a JSON body, as its schema says. DRF would also take
# "1" or 1.0 for an integer, 0 or "yes" for a boolean and 5 for a string.
_JSON_TYPES: list[tuple[type, tuple[type, ...], str]] = [
    (serializers.BooleanField, (bool,), _("Must be true or false.")),
    (serializers.IntegerField, (int,), _("Must be an integer.")),
    (serializers.ListField, (list,), _("Must be a list.")),
    (serializers.ChoiceField, (str,), _("Must be a string.")),
    (serializers.CharField, (str,), _("Must be a string.")),
    (serializers.DateTimeField, (str,), _("Must be a date and time (ISO 8601).")),
]


def _json_type_error(field: serializers.Field, value: object) -> list | dict | None:
    """The field's error for a JSON value of the wrong type, or None."""
    if value is None:
        return None  # the field's own allow_null decides
    kind = next((k for k in _JSON_TYPES if isinstance(field, k[0])), None)
    if kind is None:
        return None
    _field, types, message = kind
    # JSON's true and false are Python ints too; only a boolean field takes them.
    if not isinstance(value, types) or (isinstance(value, bool) and bool not in types):
        return [message]
    if isinstance(field, serializers.ListField):
        items = {i: _json_type_error(field.child, item) for i, item in enumerate(value)}
        return {i: error for i, error in items.items() if error} or None
    return None


class StrictInput:
    # Every write serializer starts with this. A field it does not write (unknown, or one
    # that is only ever read) is refused with 400, never silently dropped, so a misspelt
    # or misplaced name cannot look accepted; and in a JSON body each value must have its
    # field's JSON type. The schema says the same: additionalProperties false on each
    # request body (accounts.api_schema). A comment, not a docstring: the schema would
    # show a docstring as every serializer's description.

    refuses_unknown_fields = True

    def to_internal_value(self, data: Any) -> Any:
        if isinstance(data, Mapping):
            fields = self.fields  # type: ignore[attr-defined]
            writable = sorted(name for name, field in fields.items() if not field.read_only)
            errors: dict[str, Any] = {
                str(name): [
                    _("This field is read-only.") if name in fields
                    else _("Unknown field. This endpoint accepts: %(fields)s.")
                    % {"fields": ", ".join(writable)}
                ]
                for name in data
                if name not in writable
            }
            if not isinstance(data, QueryDict):  # a form's values are all text
                for name in writable:
                    if name in data and (error := _json_type_error(fields[name], data[name])):
                        errors[name] = error
            if errors:
                raise serializers.ValidationError(errors)
        return super().to_internal_value(data)  # type: ignore[misc]


class _WholeValue(RegexValidator):
    """The whole value matches: Django's RegexValidator searches, and a `$` lets a trailing
    newline through. The pattern, anchored with ^ and $, is what the schema shows."""

    def __call__(self, value: object) -> None:
        if not self.regex.fullmatch(str(value)):
            raise ValidationError(self.message, code=self.code, params={"value": value})


def pattern_field(regex: str, message: str, **kwargs: Any) -> serializers.CharField:
    """A string that must match `regex` (anchored with ^ and $) whole. Whitespace is kept,
    as the pattern decides about it; with allow_blank, "" passes without the pattern (DRF
    and the schema, which offers it beside the pattern, agree)."""
    return serializers.CharField(
        trim_whitespace=False, validators=[_WholeValue(regex, message)], **kwargs
    )


def _languages(**kwargs: Any) -> serializers.ListField:
    return serializers.ListField(
        child=serializers.ChoiceField(choices=LANGUAGE_CHOICES), required=False, **kwargs
    )


class IdListField(serializers.ListField):
    """Related objects by id, under one name: read from the relation, written as the ids."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("child", serializers.IntegerField(min_value=1))
        kwargs.setdefault("required", False)
        super().__init__(**kwargs)

    def to_representation(self, value: Manager | list) -> list[int]:
        items = value.all() if isinstance(value, Manager) else value
        return [item if isinstance(item, int) else item.pk for item in items]


class AccountSerializer(StrictInput, serializers.ModelSerializer):
    appid = pattern_field(
        APPID_RE.pattern, _("An AppID is 'wx' followed by 16 hexadecimal characters.")
    )
    original_id = pattern_field(
        ORIGINAL_ID_RE.pattern, _("An original ID is 'gh_' and 6 to 32 letters and digits."),
        required=False, allow_blank=True,
    )
    timezone = serializers.ChoiceField(
        choices=sorted(time_zone_names()), required=False, help_text=_("An IANA time zone.")
    )
    languages = _languages()
    # Secrets are write-only; reads get a hint that is enough to recognise, not to use.
    app_secret = serializers.CharField(write_only=True, required=False, allow_blank=True)
    token = pattern_field(
        CALLBACK_TOKEN_RE.pattern, _("A token is 3 to 32 letters and digits."),
        write_only=True, required=False, allow_blank=True,
    )
    encoding_aes_key = pattern_field(
        ENCODING_AES_KEY_RE.pattern, _("An EncodingAESKey is 43 letters and digits."),
        write_only=True, required=False, allow_blank=True,
    )
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


class MembershipSerializer(StrictInput, serializers.ModelSerializer):
    email = serializers.EmailField(source="user.email", read_only=True)
    name = serializers.CharField(source="user.name", read_only=True)
    role = serializers.ChoiceField(choices=Role.choices)
    accounts = IdListField(help_text=_("The accounts served; none means all of them."))
    teams = IdListField()
    languages = _languages()

    class Meta:
        model = Membership
        fields = [
            "id",
            "email",
            "name",
            "role",
            "accounts",
            "teams",
            "languages",
            "capacity",
            "presence",
            "display_name",
            "created_at",
        ]
        read_only_fields = ["presence", "created_at"]


class InvitationSerializer(StrictInput, serializers.ModelSerializer):
    role = serializers.ChoiceField(choices=Role.choices)
    accounts = IdListField(help_text=_("The accounts to serve; none means all of them."))

    class Meta:
        model = Invitation
        fields = ["id", "email", "role", "accounts", "created_at", "expires_at"]
        read_only_fields = ["created_at", "expires_at"]


class TeamSerializer(StrictInput, serializers.ModelSerializer):
    accounts = IdListField(help_text=_("The accounts this team answers for; none means all."))
    languages = _languages()

    class Meta:
        model = Team
        fields = ["id", "name", "accounts", "languages", "is_central", "created_at"]
        read_only_fields = ["created_at"]
