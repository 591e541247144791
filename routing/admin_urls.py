"""Brand admins' routing pages, under /routing/."""

from django.urls import path  # noqa: F401

urlpatterns: list = [
    # -- rules, settings, targets pages (routing.rules_views) --
    # -- routing map and tester (routing.map_views) --
]
