"""The operators' Django admin. Superusers see everything; staff who are brand members
see their brand through the same scope and selectors as the rest of the product."""

from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from accounts import selectors
from accounts.crypto_fields import mask_secret
from accounts.models import ApiKey, Brand, Invitation, Membership, OfficialAccount, Team, User


class ScopedAdmin(admin.ModelAdmin):
    def scoped(self, request: HttpRequest) -> QuerySet | None:
        """The non-superuser's queryset; None when they have no brand."""
        raise NotImplementedError

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        qs = super().get_queryset(request)
        if request.user.is_superuser:
            return qs
        if getattr(request, "tenant", None) is None:
            return qs.none()
        scoped = self.scoped(request)
        return qs.filter(pk__in=scoped.values("pk"))

    def has_add_permission(self, request: HttpRequest) -> bool:
        # Creating tenant rows goes through the portal's services; operators edit.
        return request.user.is_superuser


@admin.register(User)
class UserAdmin(DjangoUserAdmin):
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


@admin.register(Brand)
class BrandAdmin(ScopedAdmin):
    list_display = ["name", "slug", "require_mfa", "created_at"]
    list_filter = ["require_mfa"]
    search_fields = ["name", "slug"]
    prepopulated_fields = {"slug": ("name",)}

    def scoped(self, request: HttpRequest) -> QuerySet:
        return Brand.objects.filter(pk=request.tenant.brand_id)


@admin.register(OfficialAccount)
class OfficialAccountAdmin(ScopedAdmin):
    list_display = [
        "name",
        "brand",
        "appid",
        "kind",
        "verified",
        "is_flagship",
        "connection",
        "message_mode",
        "health",
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
    ]
    readonly_fields = ["secret_hints", "last_callback_at", "last_error_code", "last_error_at"]

    def scoped(self, request: HttpRequest) -> QuerySet:
        return selectors.account_list(scope=request.tenant)

    @admin.display(description=_("secrets"))
    def secret_hints(self, obj: OfficialAccount) -> str:
        return (
            f"AppSecret {mask_secret(obj.app_secret) or '—'} · token {mask_secret(obj.token)}"
            f" · key {mask_secret(obj.encoding_aes_key)}"
        )


@admin.register(Membership)
class MembershipAdmin(ScopedAdmin):
    list_display = ["user", "brand", "role", "presence", "capacity", "display_name"]
    list_filter = ["role", "presence", "brand"]
    search_fields = ["user__email", "user__name", "display_name"]
    filter_horizontal = ["accounts", "teams"]

    def scoped(self, request: HttpRequest) -> QuerySet:
        return selectors.member_list(scope=request.tenant)


@admin.register(Team)
class TeamAdmin(ScopedAdmin):
    list_display = ["name", "brand", "is_central"]
    list_filter = ["is_central", "brand"]
    search_fields = ["name"]
    filter_horizontal = ["accounts"]

    def scoped(self, request: HttpRequest) -> QuerySet:
        return selectors.team_list(scope=request.tenant)


@admin.register(Invitation)
class InvitationAdmin(ScopedAdmin):
    list_display = ["email", "brand", "role", "created_at", "expires_at", "accepted_at"]
    list_filter = ["role", "brand"]
    search_fields = ["email"]
    exclude = ["token_hash"]

    def scoped(self, request: HttpRequest) -> QuerySet:
        return selectors.invitation_list(scope=request.tenant)


@admin.register(ApiKey)
class ApiKeyAdmin(ScopedAdmin):
    list_display = ["name", "brand", "prefix", "created_at", "last_used_at", "revoked_at"]
    list_filter = ["brand"]
    search_fields = ["name", "prefix"]
    exclude = ["key_hash"]
    readonly_fields = ["prefix", "last_used_at"]

    def scoped(self, request: HttpRequest) -> QuerySet:
        return selectors.api_key_list(scope=request.tenant)
