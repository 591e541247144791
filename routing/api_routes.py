"""Routing's REST resources, registered on the API's one router (`config/urls.py`).

Conversation actions that are routing's (assign, claim next, transfer, …) live on
viewsets registered under the same ``conversations`` prefix with basenames of their own:
they add action routes only, messaging's viewset keeps the list and the details.
"""

from __future__ import annotations

from rest_framework.routers import BaseRouter


def register(router: BaseRouter) -> None:
    # -- assignment (routing.api_assignment) --
    from routing.api_assignment import ConversationRoutingViewSet

    router.register("conversations", ConversationRoutingViewSet, basename="conversation-routing")
    # -- rules, settings, targets (routing.api_rules) --
    from accounts.api_business_hours import BusinessHoursViewSet, ClosureViewSet
    from routing.api_rules import RoutingSettingsViewSet, RuleViewSet, TargetsViewSet

    router.register("routing/rules", RuleViewSet, basename="routing-rule")
    router.register("routing", RoutingSettingsViewSet, basename="routing-settings")
    router.register("routing/targets", TargetsViewSet, basename="routing-targets")
    # Closures first: their prefix would otherwise read as an id of business hours.
    router.register("business-hours/closures", ClosureViewSet, basename="closure")
    router.register("business-hours", BusinessHoursViewSet, basename="business-hours")
    # -- simulate (routing.api_simulate) --
    from routing.api_simulate import SimulateViewSet

    router.register("routing/simulate", SimulateViewSet, basename="routing-simulate")
    # -- transfers (routing.api_transfers) --
    from routing.api_transfers import ConversationTransferViewSet, TransferViewSet

    router.register("conversations", ConversationTransferViewSet,
                    basename="conversation-transfer")
    router.register("transfers", TransferViewSet, basename="transfer")
    # -- account-to-account paths (routing.api_paths) --
    from routing.api_paths import ConversationPathsViewSet

    router.register("conversations", ConversationPathsViewSet, basename="conversation-paths")
    # -- response targets and breaches (routing.api_targets) --
    from routing.api_targets import BreachViewSet

    router.register("breaches", BreachViewSet, basename="breach")
    # -- mentions and timeline (routing.api_timeline) --
    from routing.api_timeline import MentionViewSet, TimelineViewSet

    router.register("conversations", TimelineViewSet, basename="conversation-timeline")
    router.register("mentions", MentionViewSet, basename="mention")
    return None
