"""The tenancy sweep's rows for the CRM's segments part (tests/test_tenancy_sweep.py): routes
with an id, and the objects of brand A or B that fill their placeholders."""

from __future__ import annotations

# (url, methods), placeholders in {braces} named by `ids`.
HTML_ROUTES: list[tuple[str, list[str]]] = [
    ("/crm/segments/{segment}/", ["get", "post"]),
    ("/crm/segments/{segment}/delete/", ["get", "post"]),
]
API_ROUTES: list[tuple[str, list[str]]] = [
    ("/api/v1/segments/{segment}/", ["get", "patch", "put", "delete"]),
    ("/api/v1/segments/{segment}/members/", ["get"]),
    ("/api/v1/segments/{segment}/export/", ["get"]),
]


def ids(data: dict, brand: str) -> dict[str, int]:
    """Placeholder -> pk of an object of ``brand`` ("a" or "b") from ``data`` (the
    two_brands dataset), made here when the dataset has none."""
    from followers.models import Segment

    segment, _made = Segment.objects.get_or_create(brand=data[f"brand_{brand}"],
                                                   name="sweep segment")
    return {"segment": segment.pk}
