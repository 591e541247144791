"""What the brand home and the account page show about an account's connection."""

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.utils import timezone

from accounts.models import OfficialAccount
from accounts.platform_errors import explain

TOKEN_DAILY_QUOTA = 2000  # /cgi-bin/token default per account per day (protocol doc §13)


@dataclass(frozen=True)
class Health:
    status: str  # ok / waiting / error / not_connected
    token_age: timedelta | None
    token_expires_in: timedelta | None
    next_refresh_at: datetime | None
    token_error: str
    last_callback_at: datetime | None
    last_callback_was_test: bool  # the connection test's, no real push since
    error_code: int | None
    error_what: str
    error_fix: str
    error_at: datetime | None
    token_calls_today: int
    token_quota: int
    disconnected_reason: str

    @property
    def quota_share(self) -> int:
        return round(100 * self.token_calls_today / self.token_quota)


def account_health(account: OfficialAccount) -> Health:
    from accounts.tokens import REFRESH_MARGIN, token_calls_today

    now = timezone.now()
    what, fix = explain(account.last_error_code, account.last_error_message)
    expires = account.token_expires_at
    return Health(
        status=account.health,
        token_age=now - account.token_fetched_at if account.token_fetched_at else None,
        token_expires_in=expires - now if expires and expires > now else None,
        next_refresh_at=expires - timedelta(seconds=REFRESH_MARGIN) if expires else None,
        token_error=account.token_error if account.health == "error" else "",
        last_callback_at=account.last_callback_at,
        last_callback_was_test=account.last_callback_was_test,
        error_code=account.last_error_code,
        error_what=what,
        error_fix=fix,
        error_at=account.last_error_at,
        token_calls_today=token_calls_today(account.appid),
        token_quota=TOKEN_DAILY_QUOTA,
        disconnected_reason=account.disconnect_reason if account.disconnected_at else "",
    )
