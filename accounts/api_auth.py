import logging

from django.utils.translation import gettext as _
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import authentication, exceptions, throttling
from rest_framework.request import Request
from rest_framework.settings import api_settings

from accounts.models import ApiKey
from accounts.services import api_key_authenticate

logger = logging.getLogger(__name__)


class ApiKeyPrincipal:
    """Stands in for request.user when an integration calls with a brand API key."""

    is_authenticated = True
    is_anonymous = False
    is_active = True
    is_staff = False
    is_superuser = False
    pk = None

    def __init__(self, key: ApiKey) -> None:
        self.key = key

    def __str__(self) -> str:
        return f"api-key:{self.key.prefix}"


class ApiKeyAuthentication(authentication.BaseAuthentication):
    keyword = "Bearer"

    def authenticate(self, request: Request) -> tuple[ApiKeyPrincipal, ApiKey] | None:
        header = authentication.get_authorization_header(request).decode("latin-1")
        if not header:
            return None
        parts = header.split()
        if not parts or parts[0] != self.keyword:
            return None
        if len(parts) != 2:
            raise exceptions.AuthenticationFailed(_("Authorization: Bearer <api key>"))
        key = api_key_authenticate(raw=parts[1])
        if key is None:
            logger.warning("api key rejected", extra={"prefix": parts[1][:10]})
            raise exceptions.AuthenticationFailed(_("Invalid or revoked API key."))
        return ApiKeyPrincipal(key), key

    def authenticate_header(self, request: Request) -> str:
        return self.keyword


class ApiKeyRateThrottle(throttling.SimpleRateThrottle):
    """Each brand API key has its own budget of requests a minute (REST_FRAMEWORK's
    DEFAULT_THROTTLE_RATES["api_key"], API_KEY_REQUESTS_PER_MINUTE): an integration stuck
    in a loop gets 429 and Retry-After instead of loading the database for every brand.
    People signed in to the portal (the console, session auth) are not counted."""

    scope = "api_key"

    def get_rate(self) -> str | None:
        # Read at each request, not at import, so a changed setting applies.
        return api_settings.DEFAULT_THROTTLE_RATES.get(self.scope)

    def get_cache_key(self, request: Request, view: object) -> str | None:
        if not isinstance(request.auth, ApiKey):
            return None
        # The prefix as well as the id: ids restart with a new database, the prefix not.
        ident = f"{request.auth.pk}:{request.auth.prefix}"
        return self.cache_format % {"scope": self.scope, "ident": ident}


class ApiKeyAuthenticationScheme(OpenApiAuthenticationExtension):
    target_class = "accounts.api_auth.ApiKeyAuthentication"
    name = "brandApiKey"

    def get_security_definition(self, auto_schema: object) -> dict:
        return {
            "type": "http",
            "scheme": "bearer",
            "description": "A brand API key, created in the portal or with create_api_key.",
        }
