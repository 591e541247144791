"""The off-hours auto-reply reads the account's business hours when it has them."""

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from accounts.models import BusinessHours
from messaging import auto_replies
from messaging.models import AutoReply
from tests.factories import make_account, make_brand
from tests.messaging.ingest_support import deliver, text

SHANGHAI = ZoneInfo("Asia/Shanghai")
ALWAYS = [[(0, 1440)]] * 7


@pytest.fixture
def account(db):
    return make_account(brand=make_brand(), app_secret="", timezone="Asia/Shanghai")


def _hours(account, week, **fields):
    return BusinessHours.objects.create(brand=account.brand, account=account, week=week,
                                        **fields)


def test_a_national_day_morning_is_off_hours_by_the_accounts_schedule(account):
    morning = datetime(2026, 10, 1, 11, 0, tzinfo=SHANGHAI)   # the placeholder is open
    assert auto_replies.is_off_hours(account=account, at=morning) is False
    hours = _hours(account, [[(540, 1080)]] * 7)
    assert auto_replies.is_off_hours(account=account, at=morning) is True
    late = datetime(2026, 10, 8, 22, 0, tzinfo=SHANGHAI)      # placeholder closed at 22:00
    hours.week = ALWAYS
    hours.save()
    assert auto_replies.is_off_hours(account=account, at=late) is False


def test_the_callback_answers_by_the_schedule_not_the_placeholder(account):
    AutoReply.objects.create(brand=account.brand, kind="off_hours", body="We are closed.")
    _hours(account, ALWAYS, observe_cn_holidays=False)
    assert deliver(account, text(account)).reply_text is None    # open round the clock
    other = make_account(brand=account.brand, app_secret="")
    _hours(other, [[]] * 7)
    assert deliver(other, text(other, openid="oB")).reply_text == "We are closed."


def test_a_saved_schedule_is_read_at_once_despite_the_cache(account):
    morning = datetime(2026, 10, 1, 11, 0, tzinfo=SHANGHAI)
    assert auto_replies.is_off_hours(account=account, at=morning) is False
    hours = _hours(account, [[(540, 1080)]] * 7, observe_cn_holidays=False)
    assert auto_replies.is_off_hours(account=account, at=morning) is False
    hours.week = [[]] * 7
    hours.save()
    assert auto_replies.is_off_hours(account=account, at=morning) is True
