import math
import time
from datetime import UTC, datetime, timedelta
from typing import Any

from allauth.account.adapter import DefaultAccountAdapter
from allauth.core.internal import ratelimit
from django import forms
from django.core.cache import cache
from django.http import HttpRequest
from django.shortcuts import resolve_url
from django.utils import formats, timezone
from django.utils.translation import ngettext

from accounts.middleware import membership_for_request
from accounts.models import Role

LOGIN_FAILED = "login_failed"


class InviteOnlyAccountAdapter(DefaultAccountAdapter):
    """Nobody signs up on their own: members join through an invitation."""

    def is_open_for_signup(self, request: HttpRequest) -> bool:
        return False

    def get_login_redirect_url(self, request: HttpRequest) -> str:
        """Where a sign-in lands when no `next` asks for a page (allauth lets `next` win):
        agents at their desk, the console; everyone else on the brand home."""
        membership = membership_for_request(request)
        if membership is not None and membership.role == Role.AGENT:
            return resolve_url("console")
        return super().get_login_redirect_url(request)

    def pre_authenticate(self, request: HttpRequest, **credentials: Any) -> None:
        """allauth's lockout after too many failed sign-ins, saying when the member can try
        again instead of allauth's "Try again later"."""
        try:
            super().pre_authenticate(request, **credentials)
        except forms.ValidationError as exc:
            if exc.code != "too_many_login_attempts":
                raise
            key = self._get_login_attempts_cache_key(request, **credentials)
            retry_at = login_retry_at(request, key=key)
            if retry_at is None:  # the window ended in between: allauth's words will do
                raise
            raise forms.ValidationError(
                lockout_message(retry_at), code="too_many_login_attempts"
            ) from exc


def login_retry_at(request: HttpRequest, *, key: str) -> datetime | None:
    """When the failed-sign-in limits (ACCOUNT_RATE_LIMITS["login_failed"]: per address and
    per email) let this sign-in through again, read from allauth's own hit history: a limit
    of N per window frees up once its Nth most recent failure leaves the window. None when
    no limit is full. allauth exposes no public call for this (its `internal` rate-limit
    module, pinned in the lock); tests/accounts/test_login_lockout.py fails if it moves."""
    now = time.time()
    free_at = None
    for rate in ratelimit.get_rates(app="allauth.account", action=LOGIN_FAILED):
        cache_key = ratelimit.get_cache_key(
            request, app="allauth.account", action=LOGIN_FAILED, rate=rate, key=key
        )
        hits = sorted((t for t in cache.get(cache_key, []) if t > now - rate.duration),
                      reverse=True)
        if len(hits) >= rate.amount:
            at = hits[rate.amount - 1] + rate.duration
            free_at = max(free_at or at, at)
    return datetime.fromtimestamp(free_at, tz=UTC) if free_at else None


def lockout_message(retry_at: datetime) -> str:
    """The lockout, e.g. "Try again in 5 minutes, at 14:05.": both rounded up to the
    minute, so neither is earlier than the lockout really ends; the portal's time zone."""
    minutes = max(1, math.ceil((retry_at - timezone.now()).total_seconds() / 60))
    local = timezone.localtime(retry_at)
    if local.second or local.microsecond:
        local = local.replace(second=0, microsecond=0) + timedelta(minutes=1)
    return ngettext(
        "Too many failed attempts. Try again in %(minutes)d minute, at %(time)s.",
        "Too many failed attempts. Try again in %(minutes)d minutes, at %(time)s.",
        minutes,
    ) % {"minutes": minutes, "time": formats.time_format(local, "H:i")}
