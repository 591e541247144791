"""The tenancy sweep's rows for the CRM's tags part (tests/test_tenancy_sweep.py): routes
with an id, and the objects of brand A or B that fill their placeholders."""

from __future__ import annotations

# (url, methods), placeholders in {braces} named by `ids`.
HTML_ROUTES: list[tuple[str, list[str]]] = [
    ("/crm/tags/{crm_tag}/push/", ["post"]),
    ("/crm/tags/{crm_tag}/rename/", ["get", "post"]),
    ("/crm/tags/{crm_tag}/delete/", ["get", "post"]),
    ("/crm/tag-rules/{crm_tag_rule}/edit/", ["get", "post"]),
    ("/crm/tag-rules/{crm_tag_rule}/delete/", ["get", "post"]),
    ("/crm/tag-rules/{crm_tag_rule}/move/", ["post"]),
]
API_ROUTES: list[tuple[str, list[str]]] = [
    ("/api/v1/tags/{crm_tag}/", ["get", "patch", "put", "delete"]),
    ("/api/v1/tags/{crm_tag}/apply/", ["post"]),
    ("/api/v1/tags/{crm_tag}/remove/", ["post"]),
    ("/api/v1/tag-rules/{crm_tag_rule}/", ["get", "patch", "put", "delete"]),
    ("/api/v1/tag-rules/{crm_tag_rule}/move/", ["post"]),
]


def ids(data: dict, brand: str) -> dict[str, int]:
    """Placeholder -> pk of an object of ``brand`` ("a" or "b") from ``data`` (the
    two_brands dataset), made here when the dataset has none."""
    from followers.models import Tag, TagRule

    owner = data[f"brand_{brand}"]
    tag, _created = Tag.objects.get_or_create(brand=owner, name="sweep tag")
    rule = TagRule.objects.create(brand=owner, name="sweep rule", match="exact",
                                  pattern="sweep", position=1)
    rule.add_tags.add(tag)
    return {"crm_tag": tag.pk, "crm_tag_rule": rule.pk}
