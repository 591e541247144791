from django.http import HttpRequest

from accounts.models import Membership


def scope(request: HttpRequest) -> dict:
    current = getattr(request, "tenant", None)
    other_brands = []
    if current is not None:
        other_brands = list(
            Membership.objects.filter(user=request.user)
            .exclude(brand_id=current.brand_id)
            .select_related("brand")
        )
    return {"scope": current, "other_memberships": other_brands}
