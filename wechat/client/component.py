"""Third-party platform (component): platform token, authorisation and authorizer clients.

The platform's own token comes from ``api_component_token`` and needs the latest
``component_verify_ticket`` (pushed every 10 minutes; the caller stores it and hands us a
``get_ticket`` callable). Each authorised account is then driven with an
``authorizer_access_token`` renewed through its ``authorizer_refresh_token``; those refresh
tokens live in a ``RefreshTokenStore`` so the portal can persist them.
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable
from typing import Any, Protocol
from urllib.parse import urlencode

import requests

from wechat.client.official import WeChatClient
from wechat.client.retry import DEFAULT_POLICY, RetryPolicy, Safety
from wechat.client.transport import DEFAULT_TIMEOUT, ProviderTokenSource, Timeout, Transport
from wechat.errors import ComponentTicketInvalid, RefreshTokenInvalid
from wechat.tokens import FetchedToken, InMemoryTokenProvider, TokenProvider

CONSENT_BASE_URL = "https://mp.weixin.qq.com"
TOKEN_PARAM = "component_access_token"  # noqa: S105 - a parameter name


class RefreshTokenStore(Protocol):
    def get(self, authorizer_appid: str) -> str | None: ...

    def set(self, authorizer_appid: str, refresh_token: str) -> None: ...


class InMemoryRefreshTokenStore:
    def __init__(self) -> None:
        self._tokens: dict[str, str] = {}
        self._lock = threading.Lock()

    def get(self, authorizer_appid: str) -> str | None:
        with self._lock:
            return self._tokens.get(authorizer_appid)

    def set(self, authorizer_appid: str, refresh_token: str) -> None:
        with self._lock:
            self._tokens[authorizer_appid] = refresh_token


class InMemoryTicketStore:
    """Keeps the latest component_verify_ticket; call it to read (fits ``get_ticket``)."""

    def __init__(self, ticket: str | None = None) -> None:
        self.ticket = ticket

    def set(self, ticket: str) -> None:
        self.ticket = ticket

    def __call__(self) -> str | None:
        return self.ticket


class ComponentTokenFetcher:
    def __init__(self, component: ComponentClient) -> None:
        self._component = component

    def fetch(self, appid: str, *, force: bool = False) -> FetchedToken:
        data = self._component.fetch_component_token()
        return FetchedToken(data["component_access_token"], float(data.get("expires_in", 7200)))


class AuthorizerTokenFetcher:
    """Renews an authorizer token through its refresh token, storing a rotated one."""

    def __init__(self, component: ComponentClient, store: RefreshTokenStore) -> None:
        self._component = component
        self._store = store

    def fetch(self, appid: str, *, force: bool = False) -> FetchedToken:
        refresh_token = self._store.get(appid)
        if not refresh_token:
            raise RefreshTokenInvalid(61023, "no authorizer_refresh_token stored", None)
        data = self._component.refresh_authorizer_token(appid, refresh_token)
        rotated = data.get("authorizer_refresh_token")
        if rotated and rotated != refresh_token:
            self._store.set(appid, rotated)
        return FetchedToken(data["authorizer_access_token"], float(data.get("expires_in", 7200)))


class ComponentClient:
    def __init__(
        self,
        component_appid: str,
        component_appsecret: str,
        *,
        base_url: str,
        get_ticket: Callable[[], str | None],
        refresh_tokens: RefreshTokenStore | None = None,
        token_provider: TokenProvider | None = None,
        session: requests.Session | None = None,
        timeout: Timeout = DEFAULT_TIMEOUT,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], None] = time.sleep,
        retry_policy: RetryPolicy = DEFAULT_POLICY,
        consent_base_url: str = CONSENT_BASE_URL,
        rng: random.Random | None = None,
    ) -> None:
        self.component_appid = component_appid
        self.component_appsecret = component_appsecret
        self.get_ticket = get_ticket
        self.clock = clock
        self.consent_base_url = consent_base_url.rstrip("/")
        self.transport = Transport(
            base_url,
            session=session,
            timeout=timeout,
            sleep=sleep,
            retry_policy=retry_policy,
            rng=rng,
        )
        self.token_provider = token_provider or InMemoryTokenProvider(
            ComponentTokenFetcher(self), clock=clock
        )
        self.token_source = ProviderTokenSource(self.token_provider, component_appid)
        self.refresh_tokens = refresh_tokens or InMemoryRefreshTokenStore()
        # One cache for every authorizer's access token, renewed via the refresh tokens.
        self.authorizer_tokens = InMemoryTokenProvider(
            AuthorizerTokenFetcher(self, self.refresh_tokens), clock=clock
        )

    def _post(self, path: str, body: dict[str, Any], *, safety: Safety) -> dict[str, Any]:
        return self.transport.call(
            "POST", path, body=body, safety=safety, token=self.token_source, token_param=TOKEN_PARAM
        )

    # -- platform token ------------------------------------------------------------------

    def component_token(self) -> str:
        return self.token_provider.get_token(self.component_appid)

    def fetch_component_token(self) -> dict[str, Any]:
        """Call ``api_component_token`` with the latest ticket (bypassing the cache)."""
        ticket = self.get_ticket()
        if not ticket:
            raise ComponentTicketInvalid(
                61006,
                "no component_verify_ticket received yet",
                "/cgi-bin/component/api_component_token",
            )
        return self.transport.call(
            "POST",
            "/cgi-bin/component/api_component_token",
            body={
                "component_appid": self.component_appid,
                "component_appsecret": self.component_appsecret,
                "component_verify_ticket": ticket,
            },
            safety=Safety.IDEMPOTENT,
        )

    # -- authorisation -------------------------------------------------------------------

    def create_preauth_code(self) -> dict[str, Any]:
        """``{pre_auth_code, expires_in}``; each code is good for one consent."""
        return self._post(
            "/cgi-bin/component/api_create_preauthcode",
            {"component_appid": self.component_appid},
            safety=Safety.IDEMPOTENT,
        )

    def consent_url(
        self,
        pre_auth_code: str,
        redirect_uri: str,
        *,
        auth_type: int = 1,
        biz_appid: str | None = None,
        mobile: bool = False,
    ) -> str:
        """The page where an account admin grants the platform access.

        ``auth_type`` 1 = official accounts only, 2 = mini programs only, 3 = both.
        """
        query: dict[str, Any] = {
            "component_appid": self.component_appid,
            "pre_auth_code": pre_auth_code,
            "redirect_uri": redirect_uri,
            "auth_type": auth_type,
        }
        if biz_appid:
            query["biz_appid"] = biz_appid
        if mobile:
            mobile_query = {"action": "bindcomponent", "no_scan": 1, **query}
            return (
                f"{self.consent_base_url}/safe/bindcomponent?{urlencode(mobile_query)}"
                "#wechat_redirect"
            )
        return f"{self.consent_base_url}/cgi-bin/componentloginpage?{urlencode(query)}"

    def query_auth(self, authorization_code: str) -> dict[str, Any]:
        """Exchange the consent's ``auth_code``; returns ``authorization_info``.

        The refresh token goes into the store and the access token into the authorizer
        cache, so ``authorizer_client`` works straight away.
        """
        # Unsafe: an auth code is single-use, so a blind repeat could only fail.
        answer = self._post(
            "/cgi-bin/component/api_query_auth",
            {"component_appid": self.component_appid, "authorization_code": authorization_code},
            safety=Safety.UNSAFE,
        )
        info = dict(answer["authorization_info"])
        appid = info["authorizer_appid"]
        if info.get("authorizer_refresh_token"):
            self.refresh_tokens.set(appid, info["authorizer_refresh_token"])
        if info.get("authorizer_access_token"):
            self.authorizer_tokens.prime(
                appid, info["authorizer_access_token"], float(info.get("expires_in", 7200))
            )
        return info

    def refresh_authorizer_token(self, authorizer_appid: str, refresh_token: str) -> dict[str, Any]:
        """``{authorizer_access_token, expires_in, authorizer_refresh_token}``; 61023 when void."""
        return self._post(
            "/cgi-bin/component/api_authorizer_token",
            {
                "component_appid": self.component_appid,
                "authorizer_appid": authorizer_appid,
                "authorizer_refresh_token": refresh_token,
            },
            safety=Safety.IDEMPOTENT,
        )

    def get_authorizer_info(self, authorizer_appid: str) -> dict[str, Any]:
        return self._post(
            "/cgi-bin/component/api_get_authorizer_info",
            {"component_appid": self.component_appid, "authorizer_appid": authorizer_appid},
            safety=Safety.IDEMPOTENT,
        )

    def get_authorizer_list(self, *, offset: int = 0, count: int = 500) -> dict[str, Any]:
        """``{total_count, list[{authorizer_appid, refresh_token, auth_time}]}``."""
        return self._post(
            "/cgi-bin/component/api_get_authorizer_list",
            {"component_appid": self.component_appid, "offset": offset, "count": count},
            safety=Safety.IDEMPOTENT,
        )

    def authorizer_client(self, authorizer_appid: str, **kwargs: Any) -> WeChatClient:
        """A ``WeChatClient`` for an authorised account, on this client's session.

        Its token provider renews through the stored refresh token; keyword arguments
        (``showqrcode_url``, ``retry_policy``...) pass through to ``WeChatClient``.
        """
        options: dict[str, Any] = {
            "session": self.transport.session,
            "timeout": self.transport.timeout,
            "sleep": self.transport.sleep,
            "retry_policy": self.transport.retry_policy,
            "clock": self.clock,
        }
        options.update(kwargs)
        return WeChatClient(
            authorizer_appid,
            base_url=self.transport.base_url,
            token_provider=self.authorizer_tokens,
            **options,
        )
