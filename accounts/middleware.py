from collections.abc import Callable

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.translation import gettext as _

from accounts.api_auth import ApiKeyAuthentication
from accounts.mfa import mfa_setup_required
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
# language, static files, and the platform's callbacks (no member behind them).
_MFA_EXEMPT_PREFIXES = ("/auth/", "/i18n/", "/static/", "/healthz", "/wechat/")
_API_PREFIX = "/api/"


def _authenticates_with_api_key(request: HttpRequest) -> bool:
    # A Bearer header is the API key's door alone: DRF's ApiKeyAuthentication either
    # accepts the key or answers 401, and never falls back to the session behind it.
    parts = request.headers.get("Authorization", "").split()
    return bool(parts) and parts[0] == ApiKeyAuthentication.keyword


class RequireBrandMfaMiddleware:
    """When the brand's owner requires two-factor, members set it up before anything else:
    pages redirect to the setup page, the session-authenticated API answers 403."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        scope = getattr(request, "tenant", None)
        if (
            scope is None
            or request.path.startswith(_MFA_EXEMPT_PREFIXES)
            or not mfa_setup_required(user=request.user, brand=scope.brand)
        ):
            return self.get_response(request)
        setup_url = reverse("mfa_activate_totp")
        if request.path.startswith(_API_PREFIX):
            if _authenticates_with_api_key(request):
                return self.get_response(request)
            return JsonResponse(
                {
                    "detail": _(
                        "Your brand requires two-factor authentication. Set it up in the "
                        "portal before using the API."
                    ),
                    "code": "mfa_setup_required",
                    "setup_url": setup_url,
                },
                status=403,
            )
        return redirect(setup_url + "?next=" + request.path)
