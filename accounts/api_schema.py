"""The OpenAPI schema says what the API really answers.

Every operation lists the errors it can answer, each with the shape the exception handler
(accounts.api_base) gives it, and a write serializer's request body says it takes no other
fields. What every operation can answer is found here; what only some actions answer (a
409 from a domain Conflict, a 404 for an id in the body) the action declares with
`@answers(...)`, next to the code that raises it.
"""

from collections.abc import Callable
from typing import Any, TypeVar

from drf_spectacular.openapi import AutoSchema as SpectacularAutoSchema
from drf_spectacular.plumbing import ResolvedComponent

F = TypeVar("F", bound=Callable[..., Any])

ERROR = {
    "type": "object",
    "properties": {"detail": {"type": "string", "description": "What went wrong, plainly."}},
    "required": ["detail"],
}
VALIDATION_ERROR = {
    "type": "object",
    "description": (
        "Either `detail` (one message about the request as a whole) or, for each input "
        "field that was refused, its messages (`non_field_errors` for the body as a whole; "
        "an object keyed by position or name for an item of a list or object)."
    ),
    "properties": {"detail": {"type": "string"}},
    "additionalProperties": {
        "anyOf": [{"type": "array", "items": {"type": "string"}}, {"type": "object"}]
    },
}
DESCRIPTIONS = {
    400: "The input was refused: a field or a query parameter (a NUL character in it, one "
         "given twice), or malformed JSON.",
    401: "No API key, or one that is invalid or revoked.",
    403: "The requester's role does not allow this (or a session without a brand or CSRF).",
    404: "Not found: missing and not yours answer the same. Also a page past the last one, "
         "and a ?format= the operation does not offer.",
    409: "The request conflicts with the current state (the message says which).",
    415: "The body's Content-Type is not one this operation reads.",
    429: "This API key sent too many requests; wait for Retry-After seconds.",
}


def answers(*statuses: int, method: str = "") -> Callable[[F], F]:
    """Declare the errors an action answers beyond those every operation can (400, 401,
    403, 429; 404 when the path names an object or the list pages; 415 with a body).
    `method` narrows it when one action serves several methods."""

    def decorate(func: F) -> F:
        declared = [*getattr(func, "answers", []), (method.upper(), statuses)]
        func.answers = declared  # type: ignore[attr-defined]
        return func

    return decorate


class AutoSchema(SpectacularAutoSchema):
    def _error_component(self, name: str, schema: dict) -> dict:
        component = ResolvedComponent(
            name=name, type=ResolvedComponent.SCHEMA, object=name, schema=schema
        )
        self.registry.register_on_missing(component)
        return component.ref

    def _throttled(self) -> bool:
        return any(getattr(t, "rate", None) for t in self.view.get_throttles())

    def error_statuses(self) -> set[int]:
        # Every query string is checked (a NUL, a parameter given twice: 400); every
        # operation needs a key (401) and a role (403).
        codes = {400, 401, 403}
        if self._throttled():
            codes.add(429)
        if "{" in self.path or (self._is_list_view() and self._get_paginator()):
            codes.add(404)
        if any(r.format not in ("json", "api") for r in self.view.renderer_classes):
            codes.add(404)  # offers a file (?format=csv, png): an unknown ?format= is 404
        if self.method in ("POST", "PUT", "PATCH") and self.get_request_serializer():
            codes.add(415)
        handler = getattr(self.view, getattr(self.view, "action", None) or "", None)
        for method, statuses in getattr(handler, "answers", []):
            if method in ("", self.method):
                codes.update(statuses)
        return codes

    def _get_response_bodies(self, direction: str = "response") -> dict:
        responses = super()._get_response_bodies(direction)
        for code in sorted(self.error_statuses()):
            name, schema = ("ValidationError", VALIDATION_ERROR) if code == 400 else (
                "Error", ERROR
            )
            response: dict = {
                "description": DESCRIPTIONS[code],
                "content": {"application/json": {"schema": self._error_component(name, schema)}},
            }
            if code == 429:
                response["headers"] = {"Retry-After": {
                    "schema": {"type": "integer"}, "description": "Seconds to wait.",
                }}
            responses.setdefault(str(code), response)
        return responses

    def _get_parameters(self) -> list[dict]:
        parameters = super()._get_parameters()
        for parameter in parameters:
            # An empty query parameter (?role=) means "not given" throughout the API: each
            # filter, the search, the ordering and the page read it so. A required one left
            # empty is therefore missing, and refused (400).
            if parameter["in"] == "query" and not parameter.get("required"):
                parameter["allowEmptyValue"] = True
        return parameters

    def _get_request_body(self, direction: str = "request") -> dict | None:
        body = super()._get_request_body(direction)
        # A body whose rules span fields (request_schema_extra: "an account or a team")
        # cannot be left out: an empty one breaks the rule.
        if body and getattr(self.get_request_serializer(), "request_schema_extra", None):
            body["required"] = True
        return body

    def _postprocess_serializer_schema(self, schema: dict, serializer: Any, direction: str) -> dict:
        schema = super()._postprocess_serializer_schema(schema, serializer, direction)
        if direction == "request" and getattr(serializer, "refuses_unknown_fields", False):
            schema["additionalProperties"] = False
            # What a serializer's validate() asks across fields, when JSON Schema can say it.
            schema.update(getattr(serializer, "request_schema_extra", {}))
        return schema
