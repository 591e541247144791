"""Routes of the CRM's segments part: REST resources on the API's one router, pages under /crm/."""

from __future__ import annotations

from django.urls import URLPattern
from rest_framework.routers import BaseRouter

PAGES: list[URLPattern] = []


def register(router: BaseRouter) -> None:
    return None
