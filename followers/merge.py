"""A person's merge of two customers of one brand, audited, and its unmerge.

``customer_merge(keep=, merge=, by=)`` moves the merged customer's followers (their tags go
with them), its timeline, the profile fields the kept customer lacks, the attribute values
it lacks (the kept customer's value wins; the merged one's stays in the record) and
appends its notes. The merged customer keeps its row (``merged_into``) with what it held,
and a ``CustomerMerge`` says what moved. `customer.merged` is announced: messaging moves
the conversations (messaging.customer_merge) and writes their ids into the record.
``customer_unmerge`` puts back what is still where the merge put it, and announces
`customer.merged` the other way (the followers move back, so do their conversations).
"""

from __future__ import annotations

import logging

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts import events
from accounts.errors import InvalidInput
from accounts.models import Membership
from followers.events import customer_merged
from followers.models import Customer, CustomerActivity, CustomerMerge, Follower

logger = logging.getLogger(__name__)

# Profile fields a merge fills on the kept customer when it has none.
TAKEN_FIELDS = ("name", "phone", "email", "language")
NOTES_SEPARATOR = "\n\n"


def _locked(*customers: Customer) -> dict[int, Customer]:
    rows = Customer.objects.select_for_update().filter(
        pk__in=[c.pk for c in customers]).order_by("pk")
    return {row.pk: row for row in rows}


@transaction.atomic
def customer_merge(*, keep: Customer, merge: Customer, by: Membership | None) -> CustomerMerge:
    """Merge ``merge`` into ``keep``; ``by`` None means the portal did it (unionid linking)."""
    if keep.brand_id != merge.brand_id:
        raise InvalidInput(_("Customers of different brands cannot be merged."))
    if keep.pk == merge.pk:
        raise InvalidInput(_("A customer cannot be merged into itself."))
    rows = _locked(keep, merge)
    keep, merge = rows[keep.pk], rows[merge.pk]
    for customer in (keep, merge):
        if customer.merged_into_id is not None:
            raise InvalidInput(_("Customer #%(id)s was already merged into customer #%(into)s.")
                           % {"id": customer.pk, "into": customer.merged_into_id})
    now = timezone.now()
    follower_ids = sorted(Follower.objects.filter(customer=merge).values_list("pk", flat=True))
    tag_ids = sorted(set(
        Follower.tags.through.objects.filter(follower_id__in=follower_ids)
        .values_list("tag_id", flat=True)))
    activity_ids = sorted(CustomerActivity.objects.filter(customer=merge)
                          .values_list("pk", flat=True))
    profile_taken = {}
    for name in TAKEN_FIELDS:
        value = getattr(merge, name)
        if value and not getattr(keep, name):
            setattr(keep, name, value)
            profile_taken[name] = value
    notes_appended = ""
    if merge.notes.strip():
        notes_appended = (NOTES_SEPARATOR if keep.notes else "") + merge.notes
        keep.notes += notes_appended
    kept_attributes = dict(keep.attributes or {})
    attributes_taken, attributes_not_taken = {}, {}
    for key, value in (merge.attributes or {}).items():
        if key not in kept_attributes:
            kept_attributes[key] = value
            attributes_taken[key] = value
        elif kept_attributes[key] != value:
            attributes_not_taken[key] = value
    keep.attributes = kept_attributes
    keep.save()
    Follower.objects.filter(pk__in=follower_ids).update(customer=keep)
    CustomerActivity.objects.filter(pk__in=activity_ids).update(customer=keep)
    merge.merged_into = keep
    merge.save(update_fields=["merged_into", "updated_at"])
    record = CustomerMerge.objects.create(
        brand_id=keep.brand_id, kept=keep, merged=merge, by=by, at=now,
        moved={
            "followers": follower_ids, "activities": activity_ids, "tags": tag_ids,
            "profile": profile_taken, "notes": notes_appended,
            "attributes": attributes_taken, "attributes_not_taken": attributes_not_taken,
            # messaging (messaging.customer_merge) fills these after commit
            "conversations": [],
        },
    )
    data = {"merge": record.pk, "kept": keep.pk, "merged": merge.pk}
    CustomerActivity.objects.bulk_create([
        CustomerActivity(brand_id=keep.brand_id, customer=c, kind=CustomerActivity.Kind.MERGED,
                         data=data, by=by, at=now) for c in (keep, merge)
    ])
    events.announce("customer.merged", customer_merged(
        brand_id=keep.brand_id, customer_id=keep.pk, merged_customer_id=merge.pk,
        follower_ids=follower_ids, by_membership_id=by.pk if by else None,
    ))
    logger.info("customers merged", extra={"merge_id": record.pk, "kept": keep.pk,
                                           "merged": merge.pk, "followers": len(follower_ids)})
    return record


@transaction.atomic
def customer_unmerge(*, merge_record: CustomerMerge, by: Membership | None) -> CustomerMerge:
    """Undo a merge: what it moved and is still on the kept customer goes back; a field a
    person changed since stays as they left it (the record says so under "left")."""
    record = CustomerMerge.objects.select_for_update().get(pk=merge_record.pk)
    if record.undone_at is not None:
        raise InvalidInput(_("This merge was already undone."))
    rows = _locked(record.kept, record.merged)
    keep, merged = rows[record.kept_id], rows[record.merged_id]
    if keep.merged_into_id is not None:
        raise InvalidInput(_("Customer #%(id)s was merged into customer #%(into)s since; unmerge "
                         "that first.") % {"id": keep.pk, "into": keep.merged_into_id})
    moved = record.moved or {}
    now = timezone.now()
    follower_ids = sorted(Follower.objects.filter(
        pk__in=moved.get("followers", []), customer=keep).values_list("pk", flat=True))
    Follower.objects.filter(pk__in=follower_ids).update(customer=merged)
    CustomerActivity.objects.filter(pk__in=moved.get("activities", []),
                                    customer=keep).update(customer=merged)
    left: list[str] = []
    for name, value in (moved.get("profile") or {}).items():
        if getattr(keep, name) == value:
            setattr(keep, name, "")
        else:
            left.append(name)
    appended = moved.get("notes") or ""
    if appended:
        at = keep.notes.rfind(appended)
        if at >= 0:
            keep.notes = keep.notes[:at] + keep.notes[at + len(appended):]
        else:
            left.append("notes")
    attributes = dict(keep.attributes or {})
    for key, value in (moved.get("attributes") or {}).items():
        if attributes.get(key) == value:
            del attributes[key]
        else:
            left.append(f"attributes.{key}")
    keep.attributes = attributes
    keep.save()
    merged.merged_into = None
    merged.save(update_fields=["merged_into", "updated_at"])
    record.undone_at, record.undone_by = now, by
    record.moved = {**moved, "left": left, "followers_back": follower_ids}
    record.save(update_fields=["undone_at", "undone_by", "moved"])
    data = {"merge": record.pk, "kept": keep.pk, "merged": merged.pk}
    CustomerActivity.objects.bulk_create([
        CustomerActivity(brand_id=keep.brand_id, customer=c,
                         kind=CustomerActivity.Kind.UNMERGED, data=data, by=by, at=now)
        for c in (keep, merged)
    ])
    # The other way round: the followers go back, messaging moves their conversations.
    events.announce("customer.merged", customer_merged(
        brand_id=keep.brand_id, customer_id=merged.pk, merged_customer_id=keep.pk,
        follower_ids=follower_ids, by_membership_id=by.pk if by else None,
    ))
    logger.info("customers unmerged", extra={"merge_id": record.pk, "left": left})
    return record
