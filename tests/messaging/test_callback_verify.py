import time

import pytest

from accounts import services
from tests.factories import make_account, make_brand, owner_scope
from wechat import crypto

pytestmark = pytest.mark.django_db


def _params(token: str, echostr: str = "4375120948345356249") -> dict:
    # The official vector's nonce, but now: verification checks the timestamp window.
    ts, nonce = str(int(time.time())), "1514711492"
    return {"signature": crypto.url_signature(token, ts, nonce), "timestamp": ts,
            "nonce": nonce, "echostr": echostr}


def test_it_answers_the_echostr_for_a_valid_signature(client):
    account = make_account(brand=make_brand())
    response = client.get(f"/wechat/{account.appid}/callback/", _params(account.token))
    assert response.status_code == 200 and response.content == b"4375120948345356249"


def test_it_rejects_a_forged_signature(client, caplog):
    account = make_account(brand=make_brand())
    response = client.get(f"/wechat/{account.appid}/callback/", _params("not-the-token"))
    assert response.status_code == 403
    assert "bad signature" in caplog.text


def test_it_answers_404_for_an_unknown_appid(client):
    assert client.get("/wechat/wx0000000000000000/callback/", _params("x")).status_code == 404


def test_the_previous_token_still_verifies_during_the_grace_period(client):
    brand = make_brand()
    account = make_account(brand=brand)
    old = account.token
    services.account_update(scope=owner_scope(brand), account=account, token="FreshToken99")
    url = f"/wechat/{account.appid}/callback/"
    assert client.get(url, _params(old)).status_code == 200
    assert client.get(url, _params("FreshToken99")).status_code == 200
