"""Moments on the pages, by the one rule of accounts/times.py."""

from datetime import datetime

from django import template
from django.utils import timezone
from django.utils.html import format_html

from accounts.times import moment_text, zoned

register = template.Library()


@register.filter
def moment(value: datetime | None, style: str = "") -> str:
    """A `<time>` in the viewer's zone: "14:35" today, else with its date; the tooltip
    gives date, year and zone. `|moment:"zoned"` names the zone in the text as well.
    Nothing to show reads "—"."""
    if not isinstance(value, datetime):
        return "—"
    text = moment_text(value)
    return format_html(
        '<time datetime="{}" title="{}">{}</time>',
        timezone.localtime(value).isoformat(),
        zoned(moment_text(value, full=True)),
        zoned(text) if style == "zoned" else text,
    )
