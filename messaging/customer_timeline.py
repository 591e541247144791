"""One timeline of a customer across accounts: the CRM's activities (follows, unfollows,
scans, tag changes, merges, profile changes) and the customer's conversations (opened,
resolved), newest first."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.urls import reverse
from django.utils.translation import gettext as _

from accounts.scope import Scope
from followers.models import Customer, CustomerActivity
from followers.selectors_identity import customer_activities
from messaging.selectors import conversation_queryset

LIMIT = 300


def _activity_label(row: CustomerActivity) -> str:
    label = str(CustomerActivity.Kind(row.kind).label) if row.kind in \
        CustomerActivity.Kind.values else row.kind
    data = row.data or {}
    if row.kind in ("tag_added", "tag_removed") and data.get("tag"):
        return f"{label}: {data['tag']}"
    if row.kind == "updated" and data.get("fields"):
        return f"{label}: {', '.join(data['fields'])}"
    if row.kind in ("merged", "unmerged") and data.get("merged"):
        return _("%(label)s: customer #%(merged)s into customer #%(kept)s") % {
            "label": label, "merged": data.get("merged"), "kept": data.get("kept")}
    if row.kind in ("follow", "scan") and data.get("campaign"):
        return f"{label}: {data['campaign']}"
    return label


def customer_timeline(*, scope: Scope, customer: Customer, limit: int = LIMIT
                      ) -> list[dict[str, Any]]:
    entries: list[dict[str, Any]] = []
    for row in customer_activities(scope=scope, customer=customer)[:limit]:
        entries.append({
            "at": row.at, "kind": row.kind, "label": _activity_label(row),
            "account": row.account.name if row.account_id else None,
            "data": row.data or {}, "url": None,
        })
    conversations = (conversation_queryset(scope=scope).filter(customer=customer)
                     .select_related("channel_account").order_by("-opened_at")[:limit])
    for c in conversations:
        url = f"{reverse('console')}#conversation-{c.pk}"
        entries.append({
            "at": c.opened_at, "kind": "conversation_opened",
            "label": _("Conversation #%(id)s opened") % {"id": c.pk},
            "account": c.channel_account.name, "data": {"conversation": c.pk,
                                                        "status": c.status},
            "url": url,
        })
        if c.resolved_at:
            entries.append({
                "at": c.resolved_at, "kind": "conversation_resolved",
                "label": _("Conversation #%(id)s resolved") % {"id": c.pk},
                "account": c.channel_account.name, "data": {"conversation": c.pk},
                "url": url,
            })

    def key(entry: dict[str, Any]) -> datetime:
        return entry["at"]

    entries.sort(key=key, reverse=True)
    return entries[:limit]
