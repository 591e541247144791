"""WeChat API clients for the portal's accounts and its third-party platform.

Every client of a process shares one pooled HTTP session, and every access token lives in
the shared cache (``accounts.tokens.CacheTokenProvider``), so any worker can build a client
for any account and they all use, and renew, the same token.
"""

from __future__ import annotations

import os
import threading

import requests
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from accounts.models import OfficialAccount, PlatformApp
from accounts.tokens import AccountTokenEvents, CacheTokenProvider
from wechat.client import ComponentClient, Transport, WeChatClient, make_session
from wechat.client.component import AuthorizerTokenFetcher, ComponentTokenFetcher
from wechat.client.transport import ProviderTokenSource
from wechat.tokens import StableTokenFetcher

_session: requests.Session | None = None
_session_pid: int | None = None
_session_lock = threading.Lock()


def shared_session() -> requests.Session:
    """This process's session; a forked worker builds its own rather than share sockets."""
    global _session, _session_pid
    with _session_lock:
        if _session is None or _session_pid != os.getpid():
            _session, _session_pid = make_session(pool_maxsize=50), os.getpid()
        return _session


class DbRefreshTokenStore:
    """Authorizer refresh tokens, kept encrypted on ``OfficialAccount``."""

    def get(self, authorizer_appid: str) -> str | None:
        found = OfficialAccount.objects.filter(appid=authorizer_appid).values_list(
            "authorizer_refresh_token", flat=True
        )
        return next(iter(found), None) or None

    def set(self, authorizer_appid: str, refresh_token: str) -> None:
        # Before the account row exists (inside api_query_auth) this updates nothing; the
        # caller creating the account stores the refresh token itself.
        OfficialAccount.objects.filter(appid=authorizer_appid).update(
            authorizer_refresh_token=refresh_token
        )


def component_client(platform: PlatformApp) -> ComponentClient:
    """The platform's client: its ticket is read from the row on every token fetch."""
    platform_id = platform.pk

    def get_ticket() -> str | None:
        ticket = PlatformApp.objects.filter(pk=platform_id).values_list(
            "verify_ticket", flat=True
        )
        return next(iter(ticket), None) or None

    client = ComponentClient(
        platform.component_appid,
        platform.component_appsecret,
        base_url=settings.WECHAT_API_BASE,
        get_ticket=get_ticket,
        refresh_tokens=DbRefreshTokenStore(),
        session=shared_session(),
    )
    # The fetchers need the client, so the shared caches replace the in-memory defaults
    # after construction. query_auth primes the authorizer cache, authorizer_client reads it.
    client.token_provider = CacheTokenProvider(ComponentTokenFetcher(client), namespace="component")
    client.token_source = ProviderTokenSource(client.token_provider, client.component_appid)
    client.authorizer_tokens = CacheTokenProvider(
        AuthorizerTokenFetcher(client, client.refresh_tokens),
        events=AccountTokenEvents(None, platform=True),
    )
    return client


def platform_for(account: OfficialAccount) -> PlatformApp:
    """The platform an account authorised (the portal runs one)."""
    platform = PlatformApp.objects.filter(is_active=True).order_by("pk").first()
    if platform is None:
        raise ImproperlyConfigured("no active third-party platform is configured")
    return platform


def token_provider_for(account: OfficialAccount) -> CacheTokenProvider:
    session = shared_session()
    if account.connection == OfficialAccount.Connection.PLATFORM:
        component = component_client(platform_for(account))
        return CacheTokenProvider(
            AuthorizerTokenFetcher(component, component.refresh_tokens),
            events=AccountTokenEvents(account.pk, platform=True),
        )
    transport = Transport(settings.WECHAT_API_BASE, session=session)
    return CacheTokenProvider(
        StableTokenFetcher(transport, {account.appid: account.app_secret}),
        events=AccountTokenEvents(account.pk),
    )


def client_for(account: OfficialAccount) -> WeChatClient:
    """A client for one account, renewing its token through the shared cache."""
    return WeChatClient(
        account.appid,
        base_url=settings.WECHAT_API_BASE,
        token_provider=token_provider_for(account),
        session=shared_session(),
    )
