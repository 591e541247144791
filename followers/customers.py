"""Writes to customers' profiles: name, phone, email, notes and custom attributes."""

from __future__ import annotations

import logging
from typing import Any

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts import events
from accounts.errors import InvalidInput
from accounts.models import Membership
from followers.attributes import attributes_clean
from followers.events import customer_updated
from followers.models import Customer, CustomerActivity

logger = logging.getLogger(__name__)

PROFILE_FIELDS = ("name", "phone", "email", "notes")
_MAX = {name: Customer._meta.get_field(name).max_length for name in ("name", "phone", "email")}


def normalise_email(value: str) -> str:
    return (value or "").strip().lower()


def normalise_phone(value: str) -> str:
    """Digits only, a leading + kept, China's +86/0086 dropped: "+86 138-0013 8000" and
    "13800138000" are one phone."""
    text = (value or "").strip()
    digits = "".join(ch for ch in text if ch.isdigit())
    if digits.startswith("0086"):
        digits = digits[4:]
    elif digits.startswith("86") and len(digits) == 13:
        digits = digits[2:]
    return digits


def profile_clean(values: dict[str, Any]) -> dict[str, str]:
    """Profile field values as stored, every error at once."""
    errors: dict[str, list[str]] = {}
    cleaned: dict[str, str] = {}
    for name, value in values.items():
        if name not in PROFILE_FIELDS:
            errors[name] = [_("%(name)s is no profile field.") % {"name": name}]
            continue
        text = "" if value is None else str(value)
        text = text if name == "notes" else text.strip()
        limit = _MAX.get(name)
        if limit and len(text) > limit:
            errors[name] = [_("At most %(n)s characters.") % {"n": limit}]
            continue
        if name == "email" and text:
            try:
                validate_email(text)
            except ValidationError:
                errors[name] = [_("Enter a valid email address.")]
                continue
            text = normalise_email(text)
        if name == "phone" and text and len(normalise_phone(text)) < 5:
            errors[name] = [_("Enter a phone number with its digits.")]
            continue
        cleaned[name] = text
    if errors:
        raise InvalidInput(next(iter(errors.values()))[0], fields=errors)
    return cleaned


@transaction.atomic
def customer_update(*, customer: Customer, by: Membership | None,
                    profile: dict[str, Any] | None = None,
                    attributes: dict[str, Any] | None = None) -> Customer:
    """Write profile fields and attribute values (None removes an attribute's value). What
    changed goes on the timeline (kind updated, data {"fields": [...]}) and is announced as
    `customer.updated`; a write that changes nothing records nothing."""
    if customer.merged_into_id is not None:
        raise InvalidInput(_("This customer was merged into another; change that one."))
    errors: dict[str, list[str]] = {}
    try:
        profile = profile_clean(profile or {})
    except InvalidInput as exc:
        errors.update(exc.fields)
    try:
        values = attributes_clean(brand_id=customer.brand_id, values=attributes or {})
    except InvalidInput as exc:
        errors.update(exc.fields or {"attributes": [exc.message]})
    if errors:
        # Every refused field at once, profile and attributes alike.
        raise InvalidInput(next(iter(errors.values()))[0], fields=errors)
    locked = Customer.objects.select_for_update().get(pk=customer.pk)
    changed: list[str] = []
    for name, value in profile.items():
        if getattr(locked, name) != value:
            setattr(locked, name, value)
            changed.append(name)
    stored = dict(locked.attributes or {})
    for key, value in values.items():
        if value is None:
            if key in stored:
                del stored[key]
                changed.append(f"attributes.{key}")
        elif stored.get(key) != value:
            stored[key] = value
            changed.append(f"attributes.{key}")
    if not changed:
        return locked
    locked.attributes = stored
    locked.save()
    CustomerActivity.objects.create(
        brand_id=locked.brand_id, customer=locked, kind=CustomerActivity.Kind.UPDATED,
        data={"fields": changed}, by=by, at=timezone.now(),
    )
    events.announce("customer.updated", customer_updated(
        brand_id=locked.brand_id, customer_id=locked.pk, fields=changed,
        by_membership_id=by.pk if by else None,
    ))
    logger.info("customer profile changed",
                extra={"customer_id": locked.pk, "fields": changed})
    return locked
