"""Brand admins' routing pages, under /routing/."""

from django.urls import path  # noqa: F401

from routing import map_views, rules_views

urlpatterns: list = [
    # -- rules, settings, targets pages (routing.rules_views) --
    path("rules/", rules_views.rules_page, name="routing_rules"),
    path("rules/new/", rules_views.rule_new, name="routing_rule_new"),
    path("rules/reorder/", rules_views.rules_reorder, name="routing_rules_reorder"),
    path("rules/<int:pk>/edit/", rules_views.rule_edit, name="routing_rule_edit"),
    path("rules/<int:pk>/delete/", rules_views.rule_delete, name="routing_rule_delete"),
    path("rules/<int:pk>/move/", rules_views.rule_move, name="routing_rule_move"),
    path("settings/", rules_views.settings_page, name="routing_settings"),
    path("targets/", rules_views.targets_page, name="routing_targets"),
    # -- routing map and tester (routing.map_views) --
    path("map/", map_views.routing_map, name="routing_map"),
    path("tester/", map_views.routing_tester, name="routing_tester"),
]
