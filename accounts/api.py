from django.db.models import QuerySet
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, status
from rest_framework.request import Request
from rest_framework.response import Response

from accounts import selectors, services
from accounts.api_base import ScopedViewSet
from accounts.api_schema import answers
from accounts.models import Membership, Team
from accounts.scope import Scope
from accounts.serializers import (
    AccountCreatedSerializer,
    AccountSerializer,
    InvitationSerializer,
    MembershipSerializer,
    TeamSerializer,
)


class AccountViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    ScopedViewSet,
):
    """The brand's official accounts (an agent sees only the accounts they serve)."""

    serializer_class = AccountSerializer
    filterset_fields = ["kind", "verified", "is_flagship", "connection", "is_active"]
    search_fields = ["name", "appid", "original_id"]
    ordering_fields = ["name", "created_at"]

    def scoped_queryset(self, scope: Scope) -> QuerySet:
        return selectors.account_list(scope=scope)

    @extend_schema(responses={201: AccountCreatedSerializer})
    @answers(409)
    def create(self, request: Request) -> Response:
        serializer = AccountSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        account = services.account_create(scope=self.scope, **serializer.validated_data)
        return Response(AccountCreatedSerializer(account).data, status=status.HTTP_201_CREATED)

    @answers(409)
    def update(self, request: Request, pk: str | None = None, partial: bool = False) -> Response:
        account = self.get_object()
        serializer = AccountSerializer(account, data=request.data, partial=partial)
        serializer.is_valid(raise_exception=True)
        account = services.account_update(
            scope=self.scope, account=account, **serializer.validated_data
        )
        return Response(AccountSerializer(account).data)

    @answers(409)
    def partial_update(self, request: Request, pk: str | None = None) -> Response:
        return self.update(request, pk, partial=True)


class MemberViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.UpdateModelMixin,
    mixins.DestroyModelMixin,
    ScopedViewSet,
):
    """Members of the brand with their roles, accounts, languages and capacity."""

    serializer_class = MembershipSerializer
    filterset_fields = ["role", "presence"]
    search_fields = ["user__email", "user__name", "display_name"]

    def scoped_queryset(self, scope: Scope) -> QuerySet:
        return selectors.member_list(scope=scope)

    @answers(409)
    def update(self, request: Request, pk: str | None = None, partial: bool = False) -> Response:
        membership: Membership = self.get_object()
        serializer = MembershipSerializer(membership, data=request.data, partial=partial)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        membership = services.membership_update(
            scope=self.scope,
            membership=membership,
            role=data.get("role", membership.role),
            account_ids=data.get(
                "accounts", list(membership.accounts.values_list("pk", flat=True))
            ),
            capacity=data.get("capacity"),
            languages=data.get("languages"),
            display_name=data.get("display_name"),
            team_ids=data.get("teams"),
        )
        return Response(MembershipSerializer(membership).data)

    @answers(409)
    def partial_update(self, request: Request, pk: str | None = None) -> Response:
        return self.update(request, pk, partial=True)

    @answers(409)
    def destroy(self, request: Request, pk: str | None = None) -> Response:
        services.membership_remove(scope=self.scope, membership=self.get_object())
        return Response(status=status.HTTP_204_NO_CONTENT)


class InvitationViewSet(mixins.CreateModelMixin, ScopedViewSet):
    """Invite a member by email; the invitation link is mailed to them."""

    serializer_class = InvitationSerializer

    def scoped_queryset(self, scope: Scope) -> QuerySet:
        return selectors.invitation_list(scope=scope)

    @answers(404, 409)
    def create(self, request: Request) -> Response:
        serializer = InvitationSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        # A person signs it, or else the API key in the scope (services.invitation_create).
        user = request.user if getattr(request.user, "pk", None) else None
        invitation, _raw = services.invitation_create(
            scope=self.scope,
            email=data["email"],
            role=data["role"],
            account_ids=data.get("accounts", []),
            by=user,
        )
        return Response(InvitationSerializer(invitation).data, status=status.HTTP_201_CREATED)


class TeamViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    mixins.DestroyModelMixin,
    ScopedViewSet,
):
    """Teams: who answers which accounts, in which languages."""

    serializer_class = TeamSerializer
    filterset_fields = ["is_central"]
    search_fields = ["name"]

    def scoped_queryset(self, scope: Scope) -> QuerySet:
        return selectors.team_list(scope=scope)

    @answers(404, 409)
    def create(self, request: Request) -> Response:
        serializer = TeamSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        team = services.team_create(
            scope=self.scope,
            name=data["name"],
            account_ids=data.get("accounts", []),
            languages=data.get("languages"),
            is_central=data.get("is_central", False),
        )
        return Response(TeamSerializer(team).data, status=status.HTTP_201_CREATED)

    @answers(409)
    def update(self, request: Request, pk: str | None = None, partial: bool = False) -> Response:
        team: Team = self.get_object()
        serializer = TeamSerializer(team, data=request.data, partial=partial)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        team = services.team_update(
            scope=self.scope,
            team=team,
            name=data.get("name", team.name),
            account_ids=data.get("accounts", list(team.accounts.values_list("pk", flat=True))),
            languages=data.get("languages", team.languages),
            is_central=data.get("is_central", team.is_central),
        )
        return Response(TeamSerializer(team).data)

    @answers(409)
    def partial_update(self, request: Request, pk: str | None = None) -> Response:
        return self.update(request, pk, partial=True)

    def destroy(self, request: Request, pk: str | None = None) -> Response:
        services.team_delete(scope=self.scope, team=self.get_object())
        return Response(status=status.HTTP_204_NO_CONTENT)
