from collections.abc import Callable

from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse

from accounts.models import Membership
from accounts.scope import Scope, scope_for_membership

SESSION_BRAND_KEY = "active_brand_id"


def membership_for_request(request: HttpRequest) -> Membership | None:
    """The member's active brand: the one chosen in the session, else their first."""
    user = request.user
    if not user.is_authenticated:
        return None
    memberships = Membership.objects.filter(user=user).select_related("brand")
    chosen = request.session.get(SESSION_BRAND_KEY)
    if chosen is not None:
        membership = memberships.filter(brand_id=chosen).first()
        if membership is not None:
            return membership
    return memberships.order_by("brand__name").first()


class ScopeMiddleware:
    """Puts `request.tenant` (or None) on every request, after authentication."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        membership = membership_for_request(request)
        request.tenant: Scope | None = scope_for_membership(membership) if membership else None
        return self.get_response(request)


# Paths a member without two-factor may still reach: setting it up, signing out, switching
# language, static files.
_MFA_EXEMPT_PREFIXES = ("/auth/", "/i18n/", "/static/", "/healthz", "/wechat/", "/api/")


def user_has_totp(user: object) -> bool:
    from allauth.mfa.models import Authenticator

    return Authenticator.objects.filter(user=user, type=Authenticator.Type.TOTP).exists()


class RequireBrandMfaMiddleware:
    """When the brand's owner requires two-factor, members set it up before anything else."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        scope = getattr(request, "tenant", None)
        if (
            scope is not None
            and scope.brand.require_mfa
            and not request.path.startswith(_MFA_EXEMPT_PREFIXES)
            and not user_has_totp(request.user)
        ):
            return redirect(reverse("mfa_activate_totp") + "?next=" + request.path)
        return self.get_response(request)
