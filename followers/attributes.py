"""Brand-defined custom attributes of customers: their definitions and the validation of
the values written into ``Customer.attributes``."""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import QuerySet
from django.utils.translation import gettext as _

from accounts.errors import InvalidInput, RoleRequired
from accounts.scope import Scope
from followers.models import CustomerAttribute

_KEY = re.compile(r"^[a-z][a-z0-9_]{0,39}$")
TEXT_MAX = 500
MANAGE_ROLES = frozenset({"owner", "admin"})


def attribute_list(*, scope: Scope) -> QuerySet[CustomerAttribute]:
    return CustomerAttribute.objects.filter(brand_id=scope.brand_id).order_by("position", "pk")


def _require_admin(scope: Scope) -> None:
    if scope.role not in MANAGE_ROLES:
        raise RoleRequired(_("Owners and admins define the customer attributes."))


def _clean_definition(*, key: str, label: str, kind: str, choices: list | None) -> dict:
    errors: dict[str, list[str]] = {}
    key = (key or "").strip()
    if not _KEY.match(key):
        errors["key"] = [_("A key is lower-case letters, digits and _, starting with a "
                           "letter, at most 40 characters.")]
    label = (label or "").strip()
    if not label:
        errors["label"] = [_("Give the attribute a label.")]
    if kind not in CustomerAttribute.Kind.values:
        errors["kind"] = [_("The kind is one of text, number, date or choice.")]
    cleaned: list[str] = []
    if kind == CustomerAttribute.Kind.CHOICE:
        if not isinstance(choices, list) or not all(isinstance(c, str) for c in choices):
            errors["choices"] = [_("The choices are a list of texts.")]
        else:
            cleaned = [c.strip() for c in choices if c.strip()]
            if not cleaned or len(set(cleaned)) != len(cleaned):
                errors["choices"] = [_("A choice attribute needs at least one choice, each "
                                       "given once.")]
    elif choices:
        errors["choices"] = [_("Only a choice attribute has choices.")]
    if errors:
        raise InvalidInput(next(iter(errors.values()))[0], fields=errors)
    return {"key": key, "label": label, "kind": kind, "choices": cleaned}


def attribute_create(*, scope: Scope, key: str, label: str, kind: str = "text",
                     choices: list | None = None, position: int | None = None
                     ) -> CustomerAttribute:
    _require_admin(scope)
    fields = _clean_definition(key=key, label=label, kind=kind, choices=choices)
    if position is None:
        position = attribute_list(scope=scope).count()
    try:
        with transaction.atomic():
            return CustomerAttribute.objects.create(brand_id=scope.brand_id, position=position,
                                                    **fields)
    except IntegrityError:
        raise InvalidInput(_("An attribute with this key exists."),
                           fields={"key": [_("An attribute with this key exists.")]}) from None


def attribute_update(*, scope: Scope, attribute: CustomerAttribute, **changes: Any
                     ) -> CustomerAttribute:
    """Label, choices and position change; the key and kind stay (stored values use them)."""
    _require_admin(scope)
    if "key" in changes and changes["key"] != attribute.key or (
        "kind" in changes and changes["kind"] != attribute.kind
    ):
        raise InvalidInput(_("The key and kind of an attribute cannot change; make a new one."))
    fields = _clean_definition(key=attribute.key, label=changes.get("label", attribute.label),
                               kind=attribute.kind,
                               choices=changes.get("choices", attribute.choices))
    attribute.label, attribute.choices = fields["label"], fields["choices"]
    if changes.get("position") is not None:
        attribute.position = int(changes["position"])
    attribute.save(update_fields=["label", "choices", "position"])
    return attribute


def attribute_delete(*, scope: Scope, attribute: CustomerAttribute) -> None:
    """The definition goes; values already stored stay in the customers' JSON (a merge
    record or an export may still show them)."""
    _require_admin(scope)
    attribute.delete()


def attribute_value_clean(attribute: CustomerAttribute, value: Any) -> Any:
    """The value as stored (JSON: text, number, ISO date), or InvalidInput naming the key.
    None or "" clears the value."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    field = f"attributes.{attribute.key}"

    def bad(message: str) -> InvalidInput:
        return InvalidInput(message, fields={field: [message]})

    kind = attribute.kind
    if kind == CustomerAttribute.Kind.TEXT:
        if not isinstance(value, str | int | float) or isinstance(value, bool):
            raise bad(_("%(label)s takes a text.") % {"label": attribute.label})
        text = str(value).strip()
        if len(text) > TEXT_MAX:
            raise bad(_("%(label)s is at most %(n)s characters.")
                      % {"label": attribute.label, "n": TEXT_MAX})
        return text
    if kind == CustomerAttribute.Kind.NUMBER:
        if isinstance(value, bool):
            raise bad(_("%(label)s takes a number.") % {"label": attribute.label})
        try:
            number = Decimal(str(value).strip())
        except InvalidOperation:
            raise bad(_("%(label)s takes a number.") % {"label": attribute.label}) from None
        if not number.is_finite():
            raise bad(_("%(label)s takes a number.") % {"label": attribute.label})
        return int(number) if number == number.to_integral_value() else float(number)
    if kind == CustomerAttribute.Kind.DATE:
        try:
            return date.fromisoformat(str(value).strip()).isoformat()
        except ValueError:
            raise bad(_("%(label)s takes a date as YYYY-MM-DD.")
                      % {"label": attribute.label}) from None
    if str(value) not in attribute.choices:
        raise bad(_("%(label)s is one of: %(choices)s.")
                  % {"label": attribute.label, "choices": ", ".join(attribute.choices)})
    return str(value)


def attributes_clean(*, brand_id: int, values: dict[str, Any]) -> dict[str, Any]:
    """Validate a {key: value} write against the brand's definitions: every error at once,
    unknown keys refused. None means "remove the value"."""
    if not isinstance(values, dict):
        raise InvalidInput(_("The attributes are an object of key and value."))
    known = {a.key: a for a in CustomerAttribute.objects.filter(brand_id=brand_id)}
    errors: dict[str, list[str]] = {}
    cleaned: dict[str, Any] = {}
    for key, value in values.items():
        attribute = known.get(key)
        if attribute is None:
            errors[f"attributes.{key}"] = [_("%(key)s is no attribute of this brand.")
                                           % {"key": key}]
            continue
        try:
            cleaned[key] = attribute_value_clean(attribute, value)
        except InvalidInput as exc:
            errors.update(exc.fields)
    if errors:
        raise InvalidInput(next(iter(errors.values()))[0], fields=errors)
    return cleaned
