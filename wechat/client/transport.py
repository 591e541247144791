"""HTTP to the platform: one pooled session, JSON in and out, errcodes, and the retry loop."""

from __future__ import annotations

import json
import logging
import random
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

import requests
from requests.adapters import HTTPAdapter
from urllib3.exceptions import NewConnectionError

from wechat.client.retry import DEFAULT_POLICY, Action, RetryPolicy, Safety, classify
from wechat.errors import DownloadRefused, TransportError, error_for
from wechat.tokens import TokenProvider

logger = logging.getLogger("wechat.client")

Timeout = float | tuple[float, float]
DEFAULT_TIMEOUT: tuple[float, float] = (3.05, 10.0)


class TokenSource(Protocol):
    def get(self) -> str: ...

    def refresh(self, stale: str) -> str: ...


@dataclass(frozen=True)
class ProviderTokenSource:
    """Binds a provider to one appid so the transport can ask for and refresh its token."""

    provider: TokenProvider
    appid: str

    def get(self) -> str:
        return self.provider.get_token(self.appid)

    def refresh(self, stale: str) -> str:
        return self.provider.refresh_token(self.appid, stale)


def make_session(pool_maxsize: int = 20) -> requests.Session:
    """A session with a connection pool sized for a worker's threads and no hidden retries.

    urllib3's own retries are off (max_retries=0) because our table decides what may be
    repeated; a silent transport-level retry could deliver a kf message twice.
    """
    session = requests.Session()
    adapter = HTTPAdapter(pool_connections=4, pool_maxsize=pool_maxsize, max_retries=0)
    session.mount("https://", adapter)
    session.mount("http://", adapter)
    return session


def encode_json(body: Any) -> bytes:
    # The platform rejects \uXXXX escapes (40033), so non-ASCII goes out as UTF-8 bytes.
    return json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def _never_left(exc: BaseException) -> bool:
    """True when a requests error proves the request was never sent (no connection)."""
    if isinstance(exc, requests.ConnectTimeout):
        return True
    if not isinstance(exc, requests.ConnectionError):
        return False
    # requests wraps urllib3's MaxRetryError, whose .reason says why the pool gave up.
    pending: list[BaseException] = [exc]
    visited: set[int] = set()
    while pending:
        current = pending.pop()
        if id(current) in visited:
            continue
        visited.add(id(current))
        if isinstance(current, NewConnectionError):
            return True
        pending.extend(a for a in getattr(current, "args", ()) if isinstance(a, BaseException))
        reason = getattr(current, "reason", None)
        if isinstance(reason, BaseException):
            pending.append(reason)
    return False


class Transport:
    """Calls one platform host; every call goes through ``call`` and so through the table."""

    def __init__(
        self,
        base_url: str,
        *,
        session: requests.Session | None = None,
        timeout: Timeout = DEFAULT_TIMEOUT,
        sleep: Callable[[float], None] = time.sleep,
        retry_policy: RetryPolicy = DEFAULT_POLICY,
        rng: random.Random | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.session = session if session is not None else make_session()
        self.timeout = timeout
        self.sleep = sleep
        self.retry_policy = retry_policy
        self.rng = rng if rng is not None else random.Random()  # noqa: S311 - jitter only

    def call(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        body: Any = None,
        files: Mapping[str, Any] | None = None,
        safety: Safety,
        token: TokenSource | None = None,
        token_param: str = "access_token",  # noqa: S107 - a parameter name
        binary: bool = False,
    ) -> Any:
        """Send a request and return the decoded JSON (or bytes when ``binary`` and not JSON).

        Raises the errcode's ``WeChatError`` subclass or ``TransportError`` once the retry
        table says to stop. A 45065 on a DEDUPED call comes back as the answer dict.
        """
        policy = self.retry_policy
        attempts = 0  # attempts counted against max_attempts
        refreshes = 0
        waits = 0
        current_token = token.get() if token is not None else None
        while True:
            attempts += 1
            query = dict(params or {})
            if current_token is not None:
                query[token_param] = current_token
            result: Any = None
            try:
                result = self._send_once(method, path, query, body, files, binary)
            except TransportError as exc:
                failure: Exception = exc
            else:
                if not isinstance(result, dict):
                    return result
                errcode = int(result.get("errcode") or 0)
                if errcode == 0:
                    return result
                failure = error_for(errcode, str(result.get("errmsg", "")), path)

            outcome = classify(failure)
            action = policy.action(outcome, safety)
            if action is Action.SUCCEED:
                # Only an errcode answer (45065) can succeed this way; it carries the msg_id.
                return result
            if action is Action.REFRESH_TOKEN and token is not None:
                if refreshes >= policy.token_refreshes or current_token is None:
                    raise failure
                refreshes += 1
                attempts -= 1  # a refresh retry does not spend the backoff budget
                logger.info("wechat %s: token rejected, refreshing", path)
                current_token = token.refresh(current_token)
                continue
            if action is Action.WAIT_THEN_RETRY and waits < policy.too_soon_retries:
                # The same request again once the platform's minute is over; see retry.py.
                waits += 1
                attempts -= 1
                logger.info("wechat %s: %s, same request again in %.0fs", path, outcome,
                            policy.too_soon_wait)
                self.sleep(policy.too_soon_wait)
                continue
            if action is Action.BACK_OFF and attempts < policy.max_attempts:
                delay = policy.backoff(attempts, self.rng)
                logger.info("wechat %s: %s, retry %d in %.2fs", path, outcome, attempts, delay)
                self.sleep(delay)
                continue
            raise failure

    def download(self, url: str, *, max_bytes: int) -> bytes:
        """The file at a URL the platform handed out (a video's ``video_url``): a plain GET,
        no token and no retries here, at most ``max_bytes``. Network trouble and 5xx raise
        ``TransportError`` (worth another try later); 4xx or a larger file raise
        ``DownloadRefused``."""
        if not url.startswith(("http://", "https://")):
            raise DownloadRefused(f"not an http(s) URL: {url[:80]}")
        try:
            with self.session.get(url, timeout=self.timeout, stream=True) as response:
                if response.status_code >= 500:
                    raise TransportError(f"HTTP {response.status_code}", path=url,
                                         status=response.status_code)
                if response.status_code != 200:
                    raise DownloadRefused(f"HTTP {response.status_code} for the media URL")
                received = bytearray()
                for chunk in response.iter_content(64 * 1024):
                    received += chunk
                    if len(received) > max_bytes:
                        raise DownloadRefused(f"media larger than {max_bytes} bytes")
                return bytes(received)
        except requests.RequestException as exc:
            raise TransportError(f"{type(exc).__name__}: {exc}", path=url,
                                 maybe_sent=not _never_left(exc)) from exc

    def _send_once(
        self,
        method: str,
        path: str,
        query: dict[str, Any],
        body: Any,
        files: Mapping[str, Any] | None,
        binary: bool,
    ) -> Any:
        headers: dict[str, str] = {}
        data: bytes | None = None
        if body is not None and files is None:
            data = encode_json(body)
            headers["Content-Type"] = "application/json; charset=utf-8"
        try:
            response = self.session.request(
                method,
                self.base_url + path,
                params=query,
                data=data if files is None else body,
                files=files,
                headers=headers,
                timeout=self.timeout,
            )
        except requests.RequestException as exc:
            raise TransportError(
                f"{type(exc).__name__}: {exc}", path=path, maybe_sent=not _never_left(exc)
            ) from exc
        if response.status_code != 200:
            raise TransportError(
                f"HTTP {response.status_code}", path=path, status=response.status_code
            )
        content_type = response.headers.get("Content-Type", "")
        if binary and "json" not in content_type and "text/plain" not in content_type:
            return response.content
        try:
            decoded = json.loads(response.content.decode("utf-8"))
        except (UnicodeDecodeError, ValueError) as exc:
            if binary:
                return response.content
            raise TransportError("unreadable JSON answer", path=path, status=200) from exc
        if not isinstance(decoded, dict):
            raise TransportError("JSON answer is not an object", path=path, status=200)
        return decoded
