"""IANA time zones: the list the account form offers and the check every write runs.

The names are the ones `zoneinfo` can load on this machine, so a zone that is accepted is
one the off-hours auto-replies can compute with.
"""

from functools import lru_cache
from zoneinfo import available_timezones

from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

# Names the system database carries that are not zones anyone means to choose.
_NOT_ZONES = {"localtime", "posixrules", "Factory"}


@lru_cache(maxsize=1)
def time_zone_names() -> frozenset[str]:
    return frozenset(available_timezones() - _NOT_ZONES)


def is_time_zone(value: object) -> bool:
    return isinstance(value, str) and value in time_zone_names()


def time_zone_error(value: object) -> str:
    return str(
        _("“%(value)s” is not a time zone. Choose an IANA zone such as Asia/Shanghai.")
        % {"value": str(value)[:64]}
    )


def validate_time_zone(value: object) -> None:
    """Model field validator: ModelForms, the admin and DRF serializers all run it."""
    if not is_time_zone(value):
        raise ValidationError(time_zone_error(value), code="invalid_time_zone")


def time_zone_choices() -> list[tuple[str, list[tuple[str, str]]]]:
    """Every zone, grouped by region for a select; the names without a region (UTC, the
    legacy aliases) come last. Each option shows its whole name ("Asia/Shanghai"): a
    closed select shows no group, and typing the name finds it."""
    groups: dict[str, list[tuple[str, str]]] = {}
    for name in sorted(time_zone_names()):
        region = name.partition("/")[0] if "/" in name else ""
        groups.setdefault(region, []).append((name, name))
    other = groups.pop("", [])
    return [*groups.items(), (str(_("Other")), other)]


# The API's choice of zones, named once for the schema (`ENUM_NAME_OVERRIDES`).
TIME_ZONE_CHOICES = sorted(time_zone_names())
