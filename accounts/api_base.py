"""The one base every API viewset inherits, and the one exception handler.

`get_queryset` is final: a subclass narrows the requester's scope in
`scoped_queryset(scope)` and cannot forget the brand. The rare bypass must be spelled
`dangerously_unscoped_queryset` so grep finds it.

The base also refuses a NUL character anywhere in the query string or the body, once for
every endpoint (PostgreSQL cannot store one in a text column and answers a DataError),
and a query parameter given twice.
"""

from collections.abc import Iterator, Mapping
from typing import Any

from django.db.models import QuerySet
from django.http import Http404, QueryDict
from django.utils.translation import gettext as _
from rest_framework import exceptions, viewsets
from rest_framework.renderers import JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from accounts.errors import DomainError, NotInScope
from accounts.middleware import membership_for_request
from accounts.models import ApiKey
from accounts.scope import Scope, scope_for_api_key, scope_for_membership


def api_scope(request: Request) -> Scope:
    if isinstance(request.auth, ApiKey):
        return scope_for_api_key(request.auth)
    scope = getattr(request._request, "tenant", None)
    if scope is None:
        membership = membership_for_request(request._request)
        scope = scope_for_membership(membership) if membership else None
    if scope is None:
        raise exceptions.PermissionDenied(_("You are not a member of any brand."))
    return scope


class NulCharacter(exceptions.APIException):
    status_code = 400
    default_code = "nul_character"


def _strings(value: object) -> Iterator[str]:
    """Every string in a parsed body, keys included. Uploaded files are neither: their bytes
    are content, checked by what reads them."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, Mapping):
        for key, item in value.items():
            yield from _strings(key)
            yield from _strings(item)
    elif isinstance(value, list | tuple):
        for item in value:
            yield from _strings(item)


class RepeatedParameter(exceptions.APIException):
    status_code = 400
    default_code = "repeated_parameter"


def check_input(request: Request) -> None:
    """400 when a query parameter or a body field (its name or any value) holds a NUL, or
    a query parameter is given twice: each takes one value, and Django would silently
    keep the last."""
    for name, values in request.query_params.lists():
        if any("\x00" in text for text in [name, *values]):
            raise NulCharacter(
                _("The query parameter %(name)s contains a NUL character.") % {"name": repr(name)}
            )
        if len(values) > 1:
            raise RepeatedParameter(
                _("The query parameter %(name)s is given more than once.") % {"name": repr(name)}
            )
    if request.method not in ("POST", "PUT", "PATCH"):
        return  # no endpoint reads a body on other methods, so none is parsed
    if request.negotiator.select_parser(request, request.parsers) is None:
        # A body this view cannot read: 415 if the view reads it, ignored if not.
        return
    data = request.data
    if isinstance(data, QueryDict):
        fields = data.lists()
    elif isinstance(data, Mapping):
        fields = data.items()
    else:
        fields = [("body", data)]
    for name, value in fields:
        if any("\x00" in text for text in _strings([name, value])):
            raise NulCharacter(
                _("The field %(name)s contains a NUL character.") % {"name": repr(str(name))}
            )


class ScopedViewSet(viewsets.GenericViewSet):
    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if "get_queryset" in cls.__dict__:
            raise TypeError(
                f"{cls.__name__} overrides get_queryset; narrow scoped_queryset(scope) instead"
            )

    @property
    def scope(self) -> Scope:
        if not hasattr(self, "_scope"):
            self._scope = api_scope(self.request)
        return self._scope

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        super().initial(request, *args, **kwargs)
        check_input(request)

    def scoped_queryset(self, scope: Scope) -> QuerySet:
        raise NotImplementedError

    def finalize_response(self, request: Request, response: Any, *args: Any,
                          **kwargs: Any) -> Any:
        """An error answers JSON, as the schema documents every error, even where the
        request asked for a file (``?format=csv``, ``png``): a CSV or image renderer would
        send the error's text under the file's content type."""
        if (isinstance(response, Response) and response.status_code >= 400
                and getattr(request, "accepted_renderer", None) is not None
                and request.accepted_renderer.media_type not in (
                    "application/json", "text/html")):
            request.accepted_renderer = JSONRenderer()
            request.accepted_media_type = JSONRenderer.media_type
        return super().finalize_response(request, response, *args, **kwargs)

    def get_queryset(self) -> QuerySet:
        if getattr(self, "swagger_fake_view", False):
            # Schema generation has no requester; it only needs the model.
            return self.get_serializer_class().Meta.model.objects.none()
        return self.scoped_queryset(self.scope)


def exception_handler(exc: Exception, context: dict) -> Response | None:
    if isinstance(exc, NotInScope):
        exc = Http404()
    elif isinstance(exc, DomainError):
        return Response({"detail": exc.message}, status=exc.status_code)
    return drf_exception_handler(exc, context)
