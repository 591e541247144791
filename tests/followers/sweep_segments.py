"""The tenancy sweep's rows for the CRM's segments part (tests/test_tenancy_sweep.py): routes
with an id, and the objects of brand A or B that fill their placeholders."""

from __future__ import annotations

# (url, methods), placeholders in {braces} named by `ids`.
HTML_ROUTES: list[tuple[str, list[str]]] = []
API_ROUTES: list[tuple[str, list[str]]] = []


def ids(data: dict, brand: str) -> dict[str, int]:
    """Placeholder -> pk of an object of ``brand`` ("a" or "b") from ``data`` (the
    two_brands dataset), made here when the dataset has none."""
    return {}
