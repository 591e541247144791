"""Connecting accounts by third-party platform authorization, and the platform's pushes."""

import logging

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_POST

from accounts import platform
from accounts.errors import DomainError, NotInScope
from accounts.scope import Scope, access
from accounts.views import member_required

logger = logging.getLogger(__name__)

SESSION_PENDING_KEY = "platform_pending_authorization"


@csrf_exempt
@require_POST
def platform_push(request: HttpRequest) -> HttpResponse:
    """The authorization-event URL: tickets and (de)authorizations, always encrypted."""
    try:
        answer = platform.platform_receive_push(body=request.body, query=request.GET.dict())
    except platform.PushRejected as exc:
        logger.warning(
            "platform push rejected: %s",
            exc.message,
            extra={"reason": type(exc).__name__, "status": exc.status_code},
        )
        return HttpResponse(exc.message, status=exc.status_code, content_type="text/plain")
    return HttpResponse(answer, content_type="text/plain")


def _error_page(request: HttpRequest, exc: DomainError) -> HttpResponse:
    return render(
        request,
        "accounts/platform_error.html",
        {"message": exc.message},
        status=exc.status_code,
    )


@require_GET
@member_required
def authorize_start(request: HttpRequest, scope: Scope) -> HttpResponse:
    scope.require("accounts.manage")
    active = platform.platform_active()
    if active is None:
        return render(request, "accounts/platform_not_configured.html", status=503)
    redirect_uri = request.build_absolute_uri(reverse("platform_authorize_return"))
    try:
        pending, consent_url = platform.authorization_start(
            scope=scope, platform=active, redirect_uri=redirect_uri, by=request.user
        )
    except platform.PlatformUnavailable as exc:
        return _error_page(request, exc)
    request.session[SESSION_PENDING_KEY] = pending.pk
    return redirect(consent_url)


@require_GET
@member_required
def authorize_return(request: HttpRequest, scope: Scope) -> HttpResponse:
    scope.require("accounts.manage")
    pending_id = request.session.get(SESSION_PENDING_KEY)
    if pending_id is None:
        raise NotInScope()
    # Another brand's pending row answers 404 like a missing one.
    pending = access(platform.pending_in_scope(scope=scope), pending_id)
    try:
        account = platform.authorization_complete(
            auth_code=request.GET.get("auth_code", ""), pending=pending
        )
    except NotInScope:
        raise
    except DomainError as exc:
        return _error_page(request, exc)
    request.session.pop(SESSION_PENDING_KEY, None)
    messages.success(request, _("%(name)s is connected by authorization.") % {"name": account.name})
    return redirect("account_detail", pk=account.pk)
