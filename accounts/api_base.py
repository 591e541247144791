"""The one base every API viewset inherits, and the one exception handler.

`get_queryset` is final: a subclass narrows the requester's scope in
`scoped_queryset(scope)` and cannot forget the brand. The rare bypass must be spelled
`dangerously_unscoped_queryset` so grep finds it.
"""

from typing import Any

from django.db.models import QuerySet
from django.http import Http404
from django.utils.translation import gettext as _
from rest_framework import exceptions, viewsets
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

    def scoped_queryset(self, scope: Scope) -> QuerySet:
        raise NotImplementedError

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
