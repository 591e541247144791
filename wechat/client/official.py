"""``WeChatClient``: every API of one official account, on one pooled session."""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from typing import Any, Literal

import requests

from wechat.client.datacube import DatacubeApi
from wechat.client.mass import MassApi
from wechat.client.media import MediaApi
from wechat.client.menus import MenuApi
from wechat.client.messages import CustomMessageApi, TemplateApi
from wechat.client.qrcode import SHOWQRCODE_URL, QrCodeApi
from wechat.client.retry import DEFAULT_POLICY, RetryPolicy, Safety
from wechat.client.transport import DEFAULT_TIMEOUT, ProviderTokenSource, Timeout, Transport
from wechat.client.users import TagApi, UserApi
from wechat.errors import RequestValidationError
from wechat.tokens import (
    ClassicTokenFetcher,
    InMemoryTokenProvider,
    StableTokenFetcher,
    TokenFetcher,
    TokenProvider,
)


class WeChatClient(
    CustomMessageApi,
    TemplateApi,
    MassApi,
    MediaApi,
    UserApi,
    TagApi,
    QrCodeApi,
    MenuApi,
    DatacubeApi,
):
    """One official account. Methods are named ``<area>_<verb>``.

    Without a ``token_provider`` the client keeps its own in-memory cache filled from
    ``/cgi-bin/stable_token`` (or ``/cgi-bin/token`` with ``token_endpoint="classic"``);
    processes sharing an account should share a provider instead.
    """

    def __init__(
        self,
        appid: str,
        secret: str | None = None,
        *,
        base_url: str,
        token_provider: TokenProvider | None = None,
        session: requests.Session | None = None,
        timeout: Timeout = DEFAULT_TIMEOUT,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], None] = time.sleep,
        retry_policy: RetryPolicy = DEFAULT_POLICY,
        token_endpoint: Literal["stable", "classic"] = "stable",  # noqa: S107
        showqrcode_url: str = SHOWQRCODE_URL,
        rng: random.Random | None = None,
    ) -> None:
        self.appid = appid
        self.secret = secret
        self.clock = clock
        self.showqrcode_url = showqrcode_url
        self.transport = Transport(
            base_url,
            session=session,
            timeout=timeout,
            sleep=sleep,
            retry_policy=retry_policy,
            rng=rng,
        )
        if token_provider is None:
            if secret is None:
                raise RequestValidationError("WeChatClient needs a secret or a token_provider")
            fetcher: TokenFetcher = (
                StableTokenFetcher(self.transport, {appid: secret})
                if token_endpoint == "stable"  # noqa: S105
                else ClassicTokenFetcher(self.transport, {appid: secret})
            )
            token_provider = InMemoryTokenProvider(fetcher, clock=clock)
        self.token_provider = token_provider
        self.token_source = ProviderTokenSource(token_provider, appid)

    def __repr__(self) -> str:
        return f"<WeChatClient {self.appid} at {self.transport.base_url}>"

    # -- access tokens -------------------------------------------------------------------

    def access_token(self) -> str:
        """The current token from the provider (fetched only when due)."""
        return self.token_provider.get_token(self.appid)

    def fetch_access_token(self) -> dict[str, Any]:
        """Call ``/cgi-bin/token`` directly: a new token, bypassing (and not filling) the cache."""
        return self.transport.call(
            "GET",
            "/cgi-bin/token",
            params={"grant_type": "client_credential", "appid": self.appid, "secret": self._s()},
            safety=Safety.IDEMPOTENT,
        )

    def fetch_stable_token(self, *, force_refresh: bool = False) -> dict[str, Any]:
        """Call ``/cgi-bin/stable_token`` directly (force_refresh: 20 a day, 30 s apart)."""
        return self.transport.call(
            "POST",
            "/cgi-bin/stable_token",
            body={
                "grant_type": "client_credential",
                "appid": self.appid,
                "secret": self._s(),
                "force_refresh": force_refresh,
            },
            safety=Safety.UNSAFE if force_refresh else Safety.IDEMPOTENT,
        )

    def _s(self) -> str:
        if self.secret is None:
            raise RequestValidationError("this client was built without the AppSecret")
        return self.secret

    # -- API quotas ----------------------------------------------------------------------

    def quota_get(self, cgi_path: str) -> dict[str, Any]:
        """``{daily_limit, used, remain}`` for one API path."""
        answer = self._post(
            "/cgi-bin/openapi/quota/get", {"cgi_path": cgi_path}, safety=Safety.IDEMPOTENT
        )
        return dict(answer.get("quota") or {})

    def quota_clear(self) -> dict[str, Any]:
        """Reset all API counters (10 times a month, console resets included)."""
        # Unsafe: every call spends one of the 10 monthly resets.
        return self._post("/cgi-bin/clear_quota", {"appid": self.appid}, safety=Safety.UNSAFE)
