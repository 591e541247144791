"""What every API area needs from a client: a transport, a token and small validators."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import Any, TypeVar

from wechat.client.retry import Safety
from wechat.client.transport import TokenSource, Transport
from wechat.errors import RequestValidationError

T = TypeVar("T")


class ApiBase:
    """Mixin root: the area mixins call ``_get``/``_post`` and never touch HTTP directly."""

    appid: str
    transport: Transport
    token_source: TokenSource

    def _get(
        self,
        path: str,
        params: Mapping[str, Any] | None = None,
        *,
        safety: Safety = Safety.IDEMPOTENT,
        binary: bool = False,
    ) -> Any:
        return self.transport.call(
            "GET", path, params=params, safety=safety, token=self.token_source, binary=binary
        )

    def _post(
        self,
        path: str,
        body: Any,
        *,
        safety: Safety,
        params: Mapping[str, Any] | None = None,
        files: Mapping[str, Any] | None = None,
        binary: bool = False,
    ) -> Any:
        return self.transport.call(
            "POST",
            path,
            params=params,
            body=body,
            files=files,
            safety=safety,
            token=self.token_source,
            binary=binary,
        )


def require(condition: bool, message: str) -> None:
    if not condition:
        raise RequestValidationError(message)


def chunks(items: Sequence[T], size: int) -> Iterator[Sequence[T]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def utf8_len(text: str) -> int:
    return len(text.encode("utf-8"))
