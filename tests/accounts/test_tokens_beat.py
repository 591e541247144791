"""The beat task renews only missing or due tokens, once, and skips locked accounts."""

from __future__ import annotations

import json

import pytest
from django.core.cache import cache
from django.utils import timezone

from accounts.models import OfficialAccount
from accounts.tasks import token_refresh_task, tokens_refresh_due_task
from accounts.tokens import token_cache_key
from accounts.wechat_clients import client_for
from tests.accounts.token_support import token_calls, travel, twin
from tests.factories import make_account, make_brand
from wechat.sandbox.server import SandboxServer

# serial: one test failed only under -n 2 ("Never call result.get() within a task!", a
# Celery task left on the stack by a test before it in that worker); alone it passes.
pytestmark = pytest.mark.serial


def test_the_beat_renews_only_due_tokens_and_a_second_run_does_nothing(
    db: None, portal_sandbox: SandboxServer
) -> None:
    sb = portal_sandbox
    brand = make_brand()
    due, fresh, missing, inactive, gone = (make_account(brand=brand) for _ in range(5))
    for account in (due, fresh, missing, inactive, gone):
        twin(sb, account)
    OfficialAccount.objects.filter(pk=inactive.pk).update(is_active=False)
    OfficialAccount.objects.filter(pk=gone.pk).update(disconnected_at=timezone.now())
    client_for(due).access_token()
    travel(sb, 7200 - 200, due.appid)
    client_for(fresh).access_token()

    assert tokens_refresh_due_task() == 2

    assert token_calls(sb, due.appid) == 2
    assert token_calls(sb, fresh.appid) == 1
    assert token_calls(sb, missing.appid) == 1
    assert token_calls(sb, inactive.appid) == token_calls(sb, gone.appid) == 0
    missing.refresh_from_db()
    assert missing.token_fetched_at is not None and missing.token_expires_at is not None

    assert tokens_refresh_due_task() == 0
    assert token_calls(sb, due.appid) == 2 and token_calls(sb, missing.appid) == 1


def test_an_account_another_worker_is_renewing_is_skipped(
    db: None, portal_sandbox: SandboxServer
) -> None:
    sb = portal_sandbox
    account = make_account(brand=make_brand())
    twin(sb, account)
    cache.add(token_cache_key(account.appid, part=".lock"), 12345, timeout=30)

    assert token_refresh_task(account.pk) == "busy"
    assert token_calls(sb, account.appid) == 0


def test_a_deleted_account_is_skipped_and_task_results_are_json(
    db: None, portal_sandbox: SandboxServer
) -> None:
    result = token_refresh_task.delay(987654).get()
    assert result == "skipped"
    assert json.loads(json.dumps(tokens_refresh_due_task.delay().get())) == 0
