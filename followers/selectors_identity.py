"""Reads of the CRM's identity part. Every function takes the requester's scope.

Who sees which customer: a brand-wide member (owner, admin, a manager or agent serving
every account) or an API key sees every customer of the brand; a member who serves some
accounts only sees the customers that have a follower on one of those accounts. Merged
customers (``merged_into`` set) hold no followers, so only brand-wide members reach them
(through the merge history)."""

from __future__ import annotations

from django.db.models import Exists, OuterRef, Q, QuerySet

from accounts.scope import Scope
from followers.models import Customer, CustomerActivity, CustomerMerge, Follower


def customer_scope(*, scope: Scope) -> QuerySet[Customer]:
    """Every customer the requester may open (merged ones included for brand-wide members)."""
    qs = Customer.objects.filter(brand_id=scope.brand_id)
    if scope.account_ids is not None:
        served = Follower.objects.filter(customer_id=OuterRef("pk"),
                                         account_id__in=scope.account_ids)
        qs = qs.filter(Exists(served))
    return qs


def customer_list(*, scope: Scope, q: str = "", include_merged: bool = False
                  ) -> QuerySet[Customer]:
    """Customers, newest first, searched by name, phone, email, unionid, or a follower's
    openid or remark."""
    qs = customer_scope(scope=scope)
    if not include_merged:
        qs = qs.filter(merged_into__isnull=True)
    q = (q or "").strip()
    if q:
        by_follower = Follower.objects.filter(
            customer_id=OuterRef("pk"),
        ).filter(Q(openid=q) | Q(remark__icontains=q))
        condition = (Q(name__icontains=q) | Q(phone__icontains=q) | Q(email__icontains=q)
                     | Q(unionid=q) | Exists(by_follower))
        if q.isdigit():
            condition |= Q(pk=int(q))
        qs = qs.filter(condition)
    return qs.order_by("-pk")


def customer_followers(*, scope: Scope, customer: Customer) -> QuerySet[Follower]:
    """The customer's followers on the accounts the requester serves, with their account and
    the QR code (and its campaign) that brought them."""
    qs = Follower.objects.filter(brand_id=scope.brand_id, customer=customer)
    if scope.account_ids is not None:
        qs = qs.filter(account_id__in=scope.account_ids)
    return qs.select_related("account", "qrcode__campaign").prefetch_related("tags").order_by(
        "subscribed_at", "pk")


def customer_activities(*, scope: Scope, customer: Customer) -> QuerySet[CustomerActivity]:
    qs = CustomerActivity.objects.filter(brand_id=scope.brand_id, customer=customer)
    if scope.account_ids is not None:
        qs = qs.filter(Q(account_id__isnull=True) | Q(account_id__in=scope.account_ids))
    return qs.select_related("account", "by__user")


def merge_list(*, scope: Scope, customer: Customer | None = None) -> QuerySet[CustomerMerge]:
    """Merge records of customers the requester may open."""
    visible = customer_scope(scope=scope)
    qs = CustomerMerge.objects.filter(brand_id=scope.brand_id).filter(
        Q(kept__in=visible) | Q(merged__in=visible))
    if customer is not None:
        qs = qs.filter(Q(kept=customer) | Q(merged=customer))
    return qs.select_related("kept", "merged", "by__user", "undone_by__user")
