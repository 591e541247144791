"""REST: ``POST /api/v1/routing/simulate/``, the "what happens if" tester (the page is
/routing/tester/). The same inputs and answer as the page: routing.simulate."""

from __future__ import annotations

from django.db.models import QuerySet
from django.utils import timezone
from drf_spectacular.utils import extend_schema
from rest_framework.request import Request
from rest_framework.response import Response

from accounts.api_base import ScopedViewSet
from accounts.api_schema import answers
from accounts.scope import Scope
from routing.serializers_simulate import SimulateInputSerializer, SimulationSerializer
from routing.simulate import simulate


class SimulateViewSet(ScopedViewSet):
    """Where a made-up message would be routed, by the brand's real rules; nothing is
    written. For brand admins and managers (and API keys)."""

    serializer_class = SimulateInputSerializer

    def scoped_queryset(self, scope: Scope) -> QuerySet:
        return scope.accounts()

    @extend_schema(request=SimulateInputSerializer, responses={200: SimulationSerializer})
    @answers(404)
    def create(self, request: Request) -> Response:
        """A made-up message to an account at a time: the language read from it, every
        rule tried (matched, or why not), the fallback, the team or agent it reaches,
        open or closed, and any overflow. 404 for an account outside your reach."""
        given = SimulateInputSerializer(data=request.data)
        given.is_valid(raise_exception=True)
        data = given.validated_data
        answer = simulate(
            scope=self.scope, account=data["account"], text=data["text"],
            at=data.get("at") or timezone.now(), first_contact=data["first_contact"],
            menu_key=data["menu_key"], tags=data["tags"], attributes=data["attributes"],
        )
        return Response(answer)
