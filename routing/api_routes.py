"""Routing's REST resources, registered on the API's one router (`config/urls.py`).

Conversation actions that are routing's (assign, claim next, transfer, …) live on
viewsets registered under the same ``conversations`` prefix with basenames of their own:
they add action routes only, messaging's viewset keeps the list and the details.
"""

from __future__ import annotations

from rest_framework.routers import BaseRouter


def register(router: BaseRouter) -> None:
    # -- assignment (routing.api_assignment) --
    # -- rules, settings, targets (routing.api_rules) --
    # -- simulate (routing.api_simulate) --
    # -- transfers (routing.api_transfers) --
    # -- account-to-account paths (routing.api_paths) --
    # -- response targets and breaches (routing.api_targets) --
    # -- mentions and timeline (routing.api_timeline) --
    return None
