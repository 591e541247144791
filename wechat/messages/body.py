"""Reading a push body (XML or JSON) into a plain dict, and the safe-mode envelope."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Literal

from wechat.xmlutil import MAX_BODY_BYTES, BodyTooLarge, parse_xml

DataFormat = Literal["xml", "json"]

__all__ = [
    "DataFormat",
    "Envelope",
    "InvalidMessage",
    "MalformedJson",
    "MissingField",
    "detect_format",
    "load_body",
    "parse_envelope",
]


class InvalidMessage(ValueError):
    """A body that was read but is not a usable message, event or envelope."""


class MissingField(InvalidMessage):
    """A required field is absent or empty."""

    def __init__(self, field_name: str) -> None:
        super().__init__(f"missing required field {field_name}")
        self.field = field_name


class MalformedJson(InvalidMessage):
    """Not JSON, not a JSON object, or an object repeating a key."""


def _refuse_repeated_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    # Like a repeated XML element: two readers could pick different values.
    result = dict(pairs)
    if len(result) != len(pairs):
        raise MalformedJson("repeated key in JSON object")
    return result


def _as_bytes(body: bytes | str) -> bytes:
    return body.encode("utf-8") if isinstance(body, str) else body


def detect_format(body: bytes | str) -> DataFormat:
    """JSON when the body starts like JSON, XML otherwise (so garbage fails as XML)."""
    return "json" if _as_bytes(body).lstrip()[:1] in (b"{", b"[") else "xml"


def _load_json(data: bytes) -> dict[str, Any]:
    if len(data) > MAX_BODY_BYTES:
        raise BodyTooLarge(f"body is {len(data)} bytes, the limit is {MAX_BODY_BYTES}")
    try:
        value = json.loads(data, object_pairs_hook=_refuse_repeated_keys)
    except (ValueError, RecursionError) as exc:
        if isinstance(exc, MalformedJson):
            raise
        raise MalformedJson(f"not JSON: {exc}") from exc
    if not isinstance(value, dict):
        raise MalformedJson("the body is not a JSON object")
    return value


def load_body(body: bytes | str, data_format: DataFormat | None = None) -> dict[str, Any]:
    """The fields of a platform body, safely parsed.

    ``data_format`` is the account's configured format; ``None`` detects it. XML values
    are strings; JSON values keep their JSON types. Raises XmlError or InvalidMessage.
    """
    data = _as_bytes(body)
    fmt = data_format or detect_format(data)
    if fmt == "json":
        return _load_json(data)
    return parse_xml(data)


@dataclass(frozen=True, slots=True, kw_only=True)
class Envelope:
    """The outer layer of a safe-mode (or compatible-mode) push."""

    encrypt: str
    # ToUserName for account pushes; third-party platform pushes carry AppId instead.
    to_user: str | None = None
    app_id: str | None = None
    raw: dict[str, Any] = field(default_factory=dict, repr=False, compare=False, hash=False)


def parse_envelope(body: bytes | str, data_format: DataFormat | None = None) -> Envelope:
    """Read the ``Encrypt`` field (and addressee) of an encrypted push."""
    raw = load_body(body, data_format)
    encrypt = raw.get("Encrypt")
    if not encrypt:
        raise MissingField("Encrypt")
    if not isinstance(encrypt, str):
        raise InvalidMessage("Encrypt is not a string")
    to_user = raw.get("ToUserName")
    app_id = raw.get("AppId")
    return Envelope(
        encrypt=encrypt,
        to_user=to_user if isinstance(to_user, str) else None,
        app_id=app_id if isinstance(app_id, str) else None,
        raw=raw,
    )
