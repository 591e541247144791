"""Times as the viewer reads them: one zone per viewer, one format on every page.

The zone is the member's own (`Membership.time_zone`), else their brand's
(`Brand.time_zone`), else the portal's `TIME_ZONE` for a visitor of no brand.
`TimeZoneMiddleware` activates it for each request, so templates, forms and the REST API's
datetimes all speak it, and the console's script is handed its name and the same patterns.

A moment of the viewer's today reads "14:35" (24-hour); an older one carries its date
("12-01 14:35", in Chinese "12月1日 14:35"), and its year when that is not this one.
"""

from datetime import datetime

from django.conf import settings
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import pgettext

from accounts.models import Brand, Membership
from accounts.time_zones import is_time_zone

TODAY_PATTERN = "%(hour)02d:%(minute)02d"


def viewer_time_zone(*, brand: Brand | None, membership: Membership | None = None) -> str:
    """The zone a viewer reads times in. A zone saved before zones were checked, which
    `zoneinfo` cannot load, is passed over rather than failing the page."""
    candidates = [
        membership.time_zone if membership is not None else "",
        brand.time_zone if brand is not None else "",
    ]
    return next((name for name in candidates if is_time_zone(name)), settings.TIME_ZONE)


def moment_patterns() -> dict[str, str]:
    """The patterns, translated for the active language: the pages format with them here,
    the console's script with the same ones (`static/console/console.js`, `timeOf`)."""
    return {
        "today": TODAY_PATTERN,
        "this_year": pgettext(
            "a moment of this year", "%(month)02d-%(day)02d %(hour)02d:%(minute)02d"
        ),
        "older": pgettext(
            "a moment of another year", "%(year)d-%(month)02d-%(day)02d %(hour)02d:%(minute)02d"
        ),
        # A moment with its zone named: "14:35 (Asia/Shanghai)".
        "zoned": _("%(time)s (%(zone)s)"),
    }


def moment_settings() -> dict[str, object]:
    """What the console's script needs to show times as the pages do."""
    return {"zone": timezone.get_current_timezone_name(), "patterns": moment_patterns()}


def moment_text(value: datetime, *, full: bool = False, now: datetime | None = None) -> str:
    """`value` in the active zone: the time alone when it falls on today there, else with
    its date; `full` always gives the date and the year (tooltips)."""
    local = timezone.localtime(value)
    today = timezone.localtime(now or timezone.now()).date()
    patterns = moment_patterns()
    if full or local.year != today.year:
        pattern = patterns["older"]
    elif local.date() == today:
        pattern = patterns["today"]
    else:
        pattern = patterns["this_year"]
    return pattern % {
        "year": local.year, "month": local.month, "day": local.day,
        "hour": local.hour, "minute": local.minute,
    }


def zoned(text: str) -> str:
    """`text` (a formatted moment) with the active zone named after it."""
    return moment_patterns()["zoned"] % {"time": text, "zone": timezone.get_current_timezone_name()}
