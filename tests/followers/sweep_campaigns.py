"""The tenancy sweep's rows for the CRM's campaigns part (tests/test_tenancy_sweep.py): routes
with an id, and the objects of brand A or B that fill their placeholders."""

from __future__ import annotations

# (url, methods), placeholders in {braces} named by `ids`.
HTML_ROUTES: list[tuple[str, list[str]]] = [
    ("/crm/campaigns/qrcodes/{campaigns_qrcode}.png", ["get"]),
    ("/crm/campaigns/qrcodes/{campaigns_qrcode}/delete/", ["get", "post"]),
    ("/crm/campaigns/{campaigns_campaign}/", ["get", "post"]),
    ("/crm/campaigns/{campaigns_campaign}/delete/", ["get", "post"]),
]
API_ROUTES: list[tuple[str, list[str]]] = [
    ("/api/v1/campaigns/{campaigns_campaign}/", ["get", "put", "patch", "delete"]),
    ("/api/v1/campaigns/{campaigns_campaign}/report/", ["get"]),
    ("/api/v1/qrcodes/{campaigns_qrcode}/", ["get"]),
    ("/api/v1/qrcodes/{campaigns_qrcode}/png/", ["get"]),
]


def ids(data: dict, brand: str) -> dict[str, int]:
    """Placeholder -> pk of an object of ``brand`` ("a" or "b") from ``data`` (the
    two_brands dataset), made here when the dataset has none."""
    from followers.models import Campaign, QRCode

    the_brand = data[f"brand_{brand}"]
    account = data["a1" if brand == "a" else "b1"]
    campaign, _ = Campaign.objects.get_or_create(brand=the_brand, name="sweep campaign",
                                                 defaults={"channel": "kol"})
    code, _ = QRCode.objects.get_or_create(
        account=account, scene="sweep", defaults={
            "brand": the_brand, "campaign": campaign, "kind": "permanent",
            "url": "http://weixin.qq.com/q/sweep"})
    return {"campaigns_campaign": campaign.pk, "campaigns_qrcode": code.pk}
