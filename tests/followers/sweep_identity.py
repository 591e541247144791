"""The tenancy sweep's rows for the CRM's identity part (tests/test_tenancy_sweep.py): routes
with an id, and the objects of brand A or B that fill their placeholders."""

from __future__ import annotations

# (url, methods), placeholders in {braces} named by `ids`.
HTML_ROUTES: list[tuple[str, list[str]]] = [
    ("/crm/customers/{identity_customer}/", ["get", "post"]),
    ("/crm/customers/{identity_customer}/merge/", ["get", "post"]),
    ("/crm/customers/{identity_customer}/dismiss/", ["post"]),
    ("/crm/customer-merges/{identity_merge}/unmerge/", ["post"]),
    ("/crm/attributes/{identity_attribute}/edit/", ["get", "post"]),
    ("/crm/attributes/{identity_attribute}/delete/", ["get", "post"]),
]
API_ROUTES: list[tuple[str, list[str]]] = [
    ("/api/v1/customers/{identity_customer}/", ["get", "patch"]),
    ("/api/v1/customers/{identity_customer}/merge/", ["post"]),
    ("/api/v1/customers/{identity_customer}/dismiss/", ["post"]),
    ("/api/v1/customers/{identity_customer}/timeline/", ["get"]),
    ("/api/v1/customer-merges/{identity_merge}/", ["get"]),
    ("/api/v1/customer-merges/{identity_merge}/unmerge/", ["post"]),
    ("/api/v1/customer-attributes/{identity_attribute}/", ["get", "patch", "put", "delete"]),
]


def ids(data: dict, brand: str) -> dict[str, int]:
    """Placeholder -> pk of an object of ``brand`` ("a" or "b") from ``data`` (the
    two_brands dataset), made here when the dataset has none."""
    from followers.merge import customer_merge
    from followers.models import Customer, CustomerAttribute

    the_brand = data[f"brand_{brand}"]
    customer = data[f"conversation_{brand}"].customer
    kept = Customer.objects.create(brand=the_brand, name="sweep kept")
    gone = Customer.objects.create(brand=the_brand, name="sweep merged")
    record = customer_merge(keep=kept, merge=gone, by=None)
    attribute, _ = CustomerAttribute.objects.get_or_create(
        brand=the_brand, key="sweep", defaults={"label": "Sweep", "kind": "text"})
    return {"identity_customer": customer.pk, "identity_merge": record.pk,
            "identity_attribute": attribute.pk}
