"""Each request reads times in its viewer's zone (accounts/times.py says which)."""

from collections.abc import Callable
from zoneinfo import ZoneInfo

from django.http import HttpRequest, HttpResponse
from django.utils import timezone

from accounts.times import viewer_time_zone


class TimeZoneMiddleware:
    """Activates the viewer's zone for the request; after `ScopeMiddleware`, whose
    `request.tenant` names the brand and the member (None for a visitor of no brand)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        scope = getattr(request, "tenant", None)
        name = viewer_time_zone(
            brand=scope.brand if scope is not None else None,
            membership=scope.membership if scope is not None else None,
        )
        timezone.activate(ZoneInfo(name))
        try:
            return self.get_response(request)
        finally:
            timezone.deactivate()
