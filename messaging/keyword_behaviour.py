"""Behaviour conditions that read messaging's rows, registered with followers.tag_rules
(followers may not import messaging): clicked menu key Y (CLICK events, kept in
``Inbound`` only) and sent N messages in D days (inbound ``Message`` rows). Each is one
subquery over every follower the rule looks at."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.db.models import Count, Exists, OuterRef, QuerySet

from followers.models import Follower, TagRule
from followers.tag_rules import register_condition
from messaging.models import Inbound, Message

# How far back a click counts when the rule gives no days.
CLICK_DAYS_DEFAULT = 30


def _menu_click(rule: TagRule, followers: QuerySet[Follower], at: datetime
                ) -> QuerySet[Follower]:
    since = at - timedelta(days=rule.days or CLICK_DAYS_DEFAULT)
    clicked = Inbound.objects.filter(
        brand_id=rule.brand_id, account_id=OuterRef("account_id"), openid=OuterRef("openid"),
        event__iexact="click", payload__EventKey=rule.menu_key, created_time__gte=since)
    return followers.filter(Exists(clicked))


def _messages(rule: TagRule, followers: QuerySet[Follower], at: datetime
              ) -> QuerySet[Follower]:
    since = at - timedelta(days=rule.days or 0)
    busy = (Message.objects.filter(brand_id=rule.brand_id,
                                   direction=Message.Direction.INBOUND, created_at__gte=since)
            .values("conversation__follower_id").annotate(n=Count("pk"))
            .filter(n__gte=rule.count or 1).values("conversation__follower_id"))
    return followers.filter(pk__in=busy)


def register() -> None:
    register_condition(TagRule.Behaviour.MENU_CLICK, _menu_click)
    register_condition(TagRule.Behaviour.MESSAGES, _messages)
