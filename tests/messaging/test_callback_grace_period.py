"""A regenerated callback token or EncodingAESKey (the connection wizard's "generate"
buttons) keeps the old one verifying for 24 hours, so pushes WeChat signed before the
admin pasted the new value still arrive; once the grace period is over, the old one is
refused like any forged signature or key, and nothing it carries is stored.

The grace period's end is `OfficialAccount.previous_secrets_valid_until`; the callback
compares it with the clock on every push (messaging.callback `_tokens`, `_keys`).
"""

import time
from datetime import timedelta
from types import SimpleNamespace

import pytest
from django.utils import timezone

from accounts.models import Membership, OfficialAccount
from accounts.services import SECRET_GRACE_PERIOD
from messaging import callback
from messaging.models import Inbound
from tests.factories import make_account, make_brand
from tests.messaging.callback_support import counts, post, signed, text_message
from wechat import crypto

pytestmark = pytest.mark.django_db


@pytest.fixture
def account() -> OfficialAccount:
    return make_account(brand=make_brand(), message_mode="safe")


@pytest.fixture
def regenerate(client, account):  # noqa: ANN001, ANN201
    """regenerate("token" | "encoding_aes_key") -> the old value, through the wizard."""
    owner = Membership.objects.get(brand=account.brand, role="owner").user
    client.force_login(owner)

    def press(which: str) -> str:
        old = getattr(account, which)
        response = client.post(f"/official-accounts/{account.pk}/connect/", {"action": which})
        assert response.status_code == 302
        account.refresh_from_db()
        assert getattr(account, which) != old
        return old

    return press


def _verify(client, account: OfficialAccount, token: str):  # noqa: ANN001, ANN202
    ts, nonce = str(int(time.time())), "1514711492"
    return client.get(f"/wechat/{account.appid}/callback/", {
        "signature": crypto.url_signature(token, ts, nonce), "timestamp": ts, "nonce": nonce,
        "echostr": "echo-42"})


def _push(client, account: OfficialAccount, *, token: str, key: str, content: str):  # noqa: ANN001, ANN202
    query, body = signed(account, text_message(account, content=content), token=token, key=key)
    return post(client, account, query, body)


def _end_grace(account: OfficialAccount, at) -> None:  # noqa: ANN001
    # Saved, as an admin's change would be: the callback's per-process copy is dropped.
    account.previous_secrets_valid_until = at
    account.save(update_fields=["previous_secrets_valid_until"])


def _clock_at(monkeypatch: pytest.MonkeyPatch, moment) -> None:  # noqa: ANN001
    """The callback's clock for the grace period (not the pushes' timestamp window)."""
    monkeypatch.setattr(callback, "timezone", SimpleNamespace(now=lambda: moment))


def _stored() -> list[str]:
    return sorted(Inbound.objects.values_list("payload__Content", flat=True))


def test_a_regenerated_token_keeps_the_old_one_verifying_for_24_hours(
    client, account, regenerate
):
    old = regenerate("token")

    ends = account.previous_secrets_valid_until - timezone.now()
    day = timedelta(hours=24)  # the README's "the old ones keep verifying for 24 h"
    assert day - timedelta(minutes=1) < ends <= day
    assert account.previous_token == old
    assert _verify(client, account, old).content == b"echo-42"
    assert _verify(client, account, account.token).content == b"echo-42"
    key = account.encoding_aes_key
    assert _push(client, account, token=old, key=key, content="old").status_code == 200
    assert _push(client, account, token=account.token, key=key, content="new").status_code == 200
    assert _stored() == ["new", "old"]


def test_the_old_token_is_refused_once_the_grace_period_has_ended(
    client, account, regenerate
):
    old = regenerate("token")
    key = account.encoding_aes_key
    assert _push(client, account, token=old, key=key, content="in time").status_code == 200
    _end_grace(account, timezone.now() - timedelta(seconds=1))
    before = counts()

    verify = _verify(client, account, old)
    push = _push(client, account, token=old, key=key, content="too late")

    assert verify.status_code == 403 and b"bad signature" in verify.content
    assert push.status_code == 403 and b"bad msg_signature" in push.content
    assert counts() == before and _stored() == ["in time"]
    # The new token is what counts now.
    assert _verify(client, account, account.token).content == b"echo-42"
    assert _push(client, account, token=account.token, key=key, content="new").status_code == 200


def test_the_old_key_is_refused_once_the_grace_period_has_ended(client, account, regenerate):
    old_key = regenerate("encoding_aes_key")
    token = account.token
    assert account.previous_encoding_aes_key == old_key
    assert _push(client, account, token=token, key=old_key, content="in time").status_code == 200
    _end_grace(account, timezone.now() - timedelta(seconds=1))
    before = counts()

    push = _push(client, account, token=token, key=old_key, content="too late")

    assert push.status_code == 400 and b"does not decrypt" in push.content
    assert counts() == before and _stored() == ["in time"]
    new = _push(client, account, token=token, key=account.encoding_aes_key, content="new")
    assert new.status_code == 200


def test_a_day_later_the_old_token_and_key_stop_verifying_by_themselves(
    client, account, regenerate, monkeypatch
):
    # No one edits the row: the clock passes the end the wizard set.
    old_token, old_key = regenerate("token"), regenerate("encoding_aes_key")
    regenerated_at = timezone.now()

    _clock_at(monkeypatch, regenerated_at + SECRET_GRACE_PERIOD - timedelta(minutes=5))
    assert _verify(client, account, old_token).content == b"echo-42"
    almost = _push(client, account, token=old_token, key=old_key, content="almost")
    assert almost.status_code == 200

    _clock_at(monkeypatch, regenerated_at + SECRET_GRACE_PERIOD + timedelta(seconds=1))
    before = counts()
    assert _verify(client, account, old_token).status_code == 403
    late = _push(client, account, token=old_token, key=old_key, content="a day late")
    assert late.status_code == 403 and b"bad msg_signature" in late.content
    # The new token with the old key: refused too.
    mixed = _push(client, account, token=account.token, key=old_key, content="mixed")
    assert mixed.status_code == 400
    assert counts() == before and _stored() == ["almost"]
    fresh = _push(client, account, token=account.token, key=account.encoding_aes_key,
                  content="fresh")
    assert fresh.status_code == 200
