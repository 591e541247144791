from django.contrib import admin
from django.db.models import Q, QuerySet
from django.http import HttpRequest

from accounts.admin_base import ScopedAdmin
from followers.models import Customer, Follower, FollowEvent, Tag


def brand_rows(model: type, request: HttpRequest) -> QuerySet:
    """The staff member's brand's rows, narrowed to their accounts when they have some
    (rows with no account, such as brand-wide prepared responses, stay visible)."""
    scope = request.tenant
    qs = model.objects.filter(brand_id=scope.brand_id)
    if scope.account_ids is not None and hasattr(model, "account_id"):
        qs = qs.filter(Q(account_id__in=scope.account_ids) | Q(account__isnull=True))
    return qs


@admin.register(Customer)
class CustomerAdmin(ScopedAdmin):
    list_display = ["__str__", "brand", "unionid", "phone", "email", "language", "created_at"]
    list_filter = ["brand", "language"]
    search_fields = ["name", "unionid", "phone", "email"]

    def scoped(self, request: HttpRequest) -> QuerySet:
        return brand_rows(Customer, request)


@admin.register(Tag)
class TagAdmin(ScopedAdmin):
    list_display = ["name", "brand", "created_at"]
    list_filter = ["brand"]
    search_fields = ["name"]

    def scoped(self, request: HttpRequest) -> QuerySet:
        return brand_rows(Tag, request)


@admin.register(Follower)
class FollowerAdmin(ScopedAdmin):
    list_display = ["openid", "account", "customer", "subscribed", "language",
                    "subscribe_scene", "qr_scene", "last_inbound_at"]
    list_filter = ["subscribed", "account", "language", "subscribe_scene"]
    search_fields = ["openid", "unionid", "remark", "qr_scene"]
    raw_id_fields = ["customer"]
    filter_horizontal = ["tags"]

    def scoped(self, request: HttpRequest) -> QuerySet:
        return brand_rows(Follower, request)


@admin.register(FollowEvent)
class FollowEventAdmin(ScopedAdmin):
    list_display = ["kind", "account", "follower", "scene", "at"]
    list_filter = ["kind", "account"]
    search_fields = ["scene", "follower__openid"]
    raw_id_fields = ["follower"]

    def scoped(self, request: HttpRequest) -> QuerySet:
        return brand_rows(FollowEvent, request)
