"""The operators' Django admin. Superusers see everything; staff who are brand members
see their brand through the same scope and selectors as the rest of the product (the
shared base is accounts/admin_base.py)."""

from allauth.account.admin import EmailAddressAdmin as AllauthEmailAddressAdmin
from allauth.account.models import EmailAddress
from allauth.mfa.admin import AuthenticatorAdmin as AllauthAuthenticatorAdmin
from allauth.mfa.models import Authenticator
from django import forms
from django.contrib import admin
from django.contrib.auth.admin import GroupAdmin as DjangoGroupAdmin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.contrib.auth.models import Group
from django.db import models
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from accounts import selectors
from accounts.admin_base import ScopedAdmin, SuperuserOnlyAdmin, role_rank
from accounts.crypto_fields import mask_secret
from accounts.models import (
    ApiKey,
    Brand,
    Invitation,
    Membership,
    OfficialAccount,
    PendingAuthorization,
    PlatformApp,
    Team,
    User,
)
from accounts.scope import Scope
from accounts.services import CALLBACK_TOKEN_RE, ENCODING_AES_KEY_RE

# Groups carry permissions, and email addresses and authenticators are how a person signs
# in, in every brand they belong to: none of them is one brand's to change.
for _model in (Group, EmailAddress, Authenticator):
    if admin.site.is_registered(_model):
        admin.site.unregister(_model)


@admin.register(Group)
class GroupAdmin(SuperuserOnlyAdmin, DjangoGroupAdmin):
    pass


@admin.register(EmailAddress)
class EmailAddressAdmin(SuperuserOnlyAdmin, AllauthEmailAddressAdmin):
    pass


@admin.register(Authenticator)
class AuthenticatorAdmin(SuperuserOnlyAdmin, AllauthAuthenticatorAdmin):
    pass


# --- the brand's rows -------------------------------------------------------------------


@admin.register(User)
class UserAdmin(ScopedAdmin, DjangoUserAdmin):
    ordering = ["email"]
    list_display = ["email", "name", "is_staff", "is_active", "date_joined"]
    list_filter = ["is_staff", "is_superuser", "is_active"]
    search_fields = ["email", "name"]
    fieldsets = (
        (None, {"fields": ("email", "password", "name")}),
        (_("Permissions"), {"fields": ("is_active", "is_staff", "is_superuser", "groups")}),
        (_("Dates"), {"fields": ("last_login", "date_joined")}),
    )
    add_fieldsets = ((None, {"classes": ("wide",), "fields": ("email", "password1", "password2")}),)
    # Who may use the admin, and with which powers, is the platform's decision.
    STAFF_READ_ONLY = (
        "is_staff", "is_superuser", "groups", "user_permissions", "last_login", "date_joined",
    )

    def scoped(self, request: HttpRequest) -> QuerySet:
        members = selectors.member_list(scope=request.tenant)
        return User.objects.filter(pk__in=members.values("user_id"))

    def get_readonly_fields(self, request: HttpRequest, obj: models.Model | None = None) -> list:
        fields = super().get_readonly_fields(request, obj)
        if not request.user.is_superuser:
            fields += [f for f in self.STAFF_READ_ONLY if f not in fields]
        return fields

    def may_write(self, request: HttpRequest, scope: Scope, obj: User) -> bool:
        if obj.pk == request.user.pk:
            return True
        # Another staff member's password is their admin powers; a person who is also in
        # another brand is that brand's too; and a role above one's own is out of reach.
        if obj.is_superuser or obj.is_staff or not scope.can("members.manage"):
            return False
        roles = list(obj.memberships.values_list("brand_id", "role"))
        return all(
            brand_id == scope.brand_id and role_rank(role) <= role_rank(scope.role)
            for brand_id, role in roles
        )

    def has_delete_permission(self, request: HttpRequest, obj: User | None = None) -> bool:
        # A person's sign-in is not the brand's to destroy; the brand removes the membership.
        return request.user.is_superuser


@admin.register(Brand)
class BrandAdmin(ScopedAdmin):
    capability = "brand.settings"
    list_display = ["name", "slug", "require_mfa", "created_at"]
    list_filter = ["require_mfa"]
    search_fields = ["name", "slug"]
    prepopulated_fields = {"slug": ("name",)}

    def scoped(self, request: HttpRequest) -> QuerySet:
        return Brand.objects.filter(pk=request.tenant.brand_id)

    def has_delete_permission(self, request: HttpRequest, obj: Brand | None = None) -> bool:
        # Deleting a brand deletes everything in it; that is the platform's call.
        return request.user.is_superuser


HEALTH_WORDS = {
    "ok": _("Healthy"),
    "error": _("Platform error"),
    "waiting": _("Waiting for first callback"),
    "not_connected": _("Not connected"),
}


@admin.register(OfficialAccount)
class OfficialAccountAdmin(ScopedAdmin):
    capability = "accounts.manage"
    list_display = [
        "name",
        "brand",
        "appid",
        "kind",
        "verified",
        "is_flagship",
        "connection",
        "message_mode",
        "health_words",
        "last_callback_at",
    ]
    list_filter = ["kind", "verified", "is_flagship", "connection", "message_mode", "brand"]
    search_fields = ["name", "appid", "original_id"]
    # Secrets never appear in the admin; operators see a hint.
    exclude = [
        "app_secret",
        "token",
        "encoding_aes_key",
        "previous_token",
        "previous_encoding_aes_key",
        "authorizer_refresh_token",
    ]
    readonly_fields = ["secret_hints", "last_callback_at", "last_error_code", "last_error_at"]

    def scoped(self, request: HttpRequest) -> QuerySet:
        return selectors.account_list(scope=request.tenant)

    @admin.display(description=_("health"))
    def health_words(self, obj: OfficialAccount) -> str:
        # The words of the brand pages (templates/accounts/_health.html), not the status code.
        return str(HEALTH_WORDS.get(obj.health, obj.health))

    @admin.display(description=_("secrets"))
    def secret_hints(self, obj: OfficialAccount) -> str:
        return (
            f"AppSecret {mask_secret(obj.app_secret) or '—'} · token {mask_secret(obj.token)}"
            f" · key {mask_secret(obj.encoding_aes_key)}"
        )


@admin.register(Membership)
class MembershipAdmin(ScopedAdmin):
    capability = "members.manage"
    list_display = ["user", "brand", "role", "presence", "capacity", "display_name"]
    list_filter = ["role", "presence", "brand"]
    search_fields = ["user__email", "user__name", "display_name"]
    filter_horizontal = ["accounts", "teams"]

    def scoped(self, request: HttpRequest) -> QuerySet:
        return selectors.member_list(scope=request.tenant)


@admin.register(Team)
class TeamAdmin(ScopedAdmin):
    capability = "teams.manage"
    list_display = ["name", "brand", "is_central"]
    list_filter = ["is_central", "brand"]
    search_fields = ["name"]
    filter_horizontal = ["accounts"]

    def scoped(self, request: HttpRequest) -> QuerySet:
        return selectors.team_list(scope=request.tenant)


@admin.register(Invitation)
class InvitationAdmin(ScopedAdmin):
    capability = "members.manage"
    list_display = ["email", "brand", "role", "created_at", "expires_at", "accepted_at"]
    list_filter = ["role", "brand"]
    search_fields = ["email"]
    exclude = ["token_hash"]

    def scoped(self, request: HttpRequest) -> QuerySet:
        return selectors.invitation_list(scope=request.tenant)


@admin.register(ApiKey)
class ApiKeyAdmin(ScopedAdmin):
    capability = "api_keys.manage"
    list_display = ["name", "brand", "prefix", "created_at", "last_used_at", "revoked_at"]
    list_filter = ["brand"]
    search_fields = ["name", "prefix"]
    exclude = ["key_hash"]
    readonly_fields = ["prefix", "last_used_at"]

    def scoped(self, request: HttpRequest) -> QuerySet:
        return selectors.api_key_list(scope=request.tenant)


# --- the third-party platform (not tenant data: superusers only) -----------------------


class PlatformAppForm(forms.ModelForm):
    """Secrets are write-only: blank keeps the stored value, a value replaces it."""

    new_component_appsecret = forms.CharField(
        label=_("component AppSecret"),
        required=False,
        strip=True,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "off"}),
    )
    new_token = forms.CharField(
        label=_("message token"),
        required=False,
        strip=True,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "off"}),
    )
    new_encoding_aes_key = forms.CharField(
        label=_("message EncodingAESKey"),
        required=False,
        strip=True,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "off"}),
    )
    SECRETS = {
        "new_component_appsecret": "component_appsecret",
        "new_token": "token",
        "new_encoding_aes_key": "encoding_aes_key",
    }

    class Meta:
        model = PlatformApp
        fields = ["component_appid", "is_active"]

    def clean_new_token(self) -> str:
        value = self.cleaned_data["new_token"]
        if value and not CALLBACK_TOKEN_RE.match(value):
            raise forms.ValidationError(_("A token is 3 to 32 letters and digits."))
        return value

    def clean_new_encoding_aes_key(self) -> str:
        value = self.cleaned_data["new_encoding_aes_key"]
        if value and not ENCODING_AES_KEY_RE.match(value):
            raise forms.ValidationError(_("An EncodingAESKey is 43 letters and digits."))
        return value

    def clean(self) -> dict:
        data = super().clean()
        if self.instance.pk is None:
            for field in self.SECRETS:
                if not data.get(field) and field not in self.errors:
                    self.add_error(field, _("Required for a new platform."))
        return data

    def save(self, commit: bool = True) -> PlatformApp:
        platform = super().save(commit=False)
        for field, attribute in self.SECRETS.items():
            if self.cleaned_data.get(field):
                setattr(platform, attribute, self.cleaned_data[field])
        if commit:
            platform.save()
        return platform


@admin.register(PlatformApp)
class PlatformAppAdmin(SuperuserOnlyAdmin):
    form = PlatformAppForm
    list_display = ["component_appid", "is_active", "ticket_received_at", "created_at"]
    list_filter = ["is_active"]
    search_fields = ["component_appid"]
    readonly_fields = ["secret_hints", "ticket_received_at", "created_at"]
    fieldsets = (
        (None, {"fields": ("component_appid", "is_active", "secret_hints")}),
        (
            _("Set secrets (leave blank to keep)"),
            {"fields": ("new_component_appsecret", "new_token", "new_encoding_aes_key")},
        ),
        (_("Verify ticket"), {"fields": ("ticket_received_at", "created_at")}),
    )

    @admin.display(description=_("secrets"))
    def secret_hints(self, obj: PlatformApp) -> str:
        return (
            f"AppSecret {mask_secret(obj.component_appsecret) or '—'}"
            f" · token {mask_secret(obj.token) or '—'}"
            f" · key {mask_secret(obj.encoding_aes_key) or '—'}"
            f" · ticket {'✓' if obj.verify_ticket else '—'}"
        )


@admin.register(PendingAuthorization)
class PendingAuthorizationAdmin(SuperuserOnlyAdmin):
    list_display = ["brand", "platform", "created_by", "created_at", "completed_at", "account"]
    list_filter = ["platform", "brand"]
    fields = [
        "brand",
        "platform",
        "code_hint",
        "created_by",
        "created_at",
        "completed_at",
        "account",
    ]
    readonly_fields = fields

    @admin.display(description=_("pre-auth code"))
    def code_hint(self, obj: PendingAuthorization) -> str:
        return mask_secret(obj.pre_auth_code)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False
