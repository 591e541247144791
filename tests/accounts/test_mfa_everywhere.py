"""When a brand requires two-factor, a member without it gets nowhere but the setup page:
not through the pages, not through the session-authenticated API, not over the console
websocket. Brand API keys are not members and keep working."""

import logging

import pytest
from allauth.mfa.models import Authenticator
from asgiref.sync import sync_to_async
from channels.testing import WebsocketCommunicator

from accounts import services
from accounts.models import Brand, Invitation
from config.asgi import application
from messaging.models import Conversation
from tests.factories import make_brand, make_member, make_user
from tests.routing.socket_support import close_thread_connections, session_cookie  # noqa: F401

SETUP_PATH = "/auth/2fa/totp/activate/"


def _require_mfa(brand: Brand) -> None:
    Brand.objects.filter(pk=brand.pk).update(require_mfa=True)


def _give_totp(user) -> None:  # noqa: ANN001
    Authenticator.objects.create(user=user, type=Authenticator.Type.TOTP, data={"secret": "x"})


@pytest.fixture
def locked(two_brands):  # noqa: ANN001
    """Brand A requires two-factor; its admin has not set it up."""
    _require_mfa(two_brands["brand_a"])
    return two_brands


def _assert_mfa_refusal(response) -> None:  # noqa: ANN001
    assert response.status_code == 403
    body = response.json()
    assert body["code"] == "mfa_setup_required"
    assert "two-factor" in body["detail"]
    assert body["setup_url"] == SETUP_PATH


# --- pages -----------------------------------------------------------------------------


@pytest.mark.django_db
def test_pages_send_a_member_without_two_factor_to_the_setup_page(client, locked):
    client.force_login(locked["admin_a"].user)
    for path in ("/", "/console/", "/api-keys/"):
        response = client.get(path)
        assert response.status_code == 302, path
        assert response["Location"].startswith(SETUP_PATH), path
    # The setup pages themselves stay open (allauth asks for the password first).
    setup = client.get(SETUP_PATH, follow=True)
    assert setup.status_code == 200
    assert all(url.startswith("/auth/") for url, _status in setup.redirect_chain)


# --- the session-authenticated API -----------------------------------------------------


@pytest.mark.django_db
def test_the_session_api_refuses_reads_without_two_factor(client, locked):
    client.force_login(locked["admin_a"].user)
    for path in ("/api/v1/conversations/", f"/api/v1/conversations/{locked['conversation_a'].pk}/",
                 "/api/v1/members/"):
        _assert_mfa_refusal(client.get(path))


@pytest.mark.django_db
def test_the_session_api_refuses_writes_without_two_factor_and_changes_nothing(client, locked):
    client.force_login(locked["admin_a"].user)
    conversation = locked["conversation_a"]

    _assert_mfa_refusal(client.post("/api/v1/invitations/",
                                     {"email": "new-admin@example.com", "role": "admin"},
                                     content_type="application/json"))
    _assert_mfa_refusal(client.post(f"/api/v1/conversations/{conversation.pk}/resolve/"))

    assert not Invitation.objects.filter(email="new-admin@example.com").exists()
    assert Conversation.objects.get(pk=conversation.pk).status == conversation.status


@pytest.mark.django_db
def test_another_authorization_scheme_does_not_slip_past_the_check(client, locked):
    # Only a Bearer header hands the request to the API key; anything else falls back to
    # the session, so it must meet the same refusal.
    client.force_login(locked["admin_a"].user)
    response = client.get("/api/v1/conversations/", HTTP_AUTHORIZATION="Basic Zm9vOmJhcg==")
    _assert_mfa_refusal(response)


@pytest.mark.django_db
def test_a_brand_api_key_still_works_when_the_brand_requires_two_factor(client, locked):
    _key, raw = services.api_key_create(brand=locked["brand_a"], name="ERP")
    response = client.get("/api/v1/conversations/", HTTP_AUTHORIZATION=f"Bearer {raw}")
    assert response.status_code == 200
    assert [c["id"] for c in response.json()["results"]] == [locked["conversation_a"].pk]
    # A session cookie of a member without two-factor beside it changes nothing: the key
    # is who is calling.
    client.force_login(locked["admin_a"].user)
    created = client.post("/api/v1/invitations/", {"email": "via-key@example.com",
                                                   "role": "agent"},
                          content_type="application/json", HTTP_AUTHORIZATION=f"Bearer {raw}")
    assert created.status_code == 201, created.content


@pytest.mark.django_db
def test_a_member_with_totp_reaches_pages_and_the_api(client, locked):
    _give_totp(locked["admin_a"].user)
    client.force_login(locked["admin_a"].user)
    assert client.get("/").status_code == 200
    response = client.get("/api/v1/conversations/")
    assert response.status_code == 200
    assert [c["id"] for c in response.json()["results"]] == [locked["conversation_a"].pk]


@pytest.mark.django_db
def test_a_brand_that_does_not_require_two_factor_lets_members_in(client, two_brands):
    client.force_login(two_brands["admin_a"].user)
    assert client.get("/").status_code == 200
    assert client.get("/api/v1/conversations/").status_code == 200


# --- the console websocket -------------------------------------------------------------


def _socket_member(*, require_mfa: bool, totp: bool) -> str:
    brand = make_brand()
    if require_mfa:
        _require_mfa(brand)
    user = make_user()
    make_member(brand=brand, user=user)
    if totp:
        _give_totp(user)
    return session_cookie(user)


def _communicator(cookie: str) -> WebsocketCommunicator:
    headers = [(b"origin", b"http://127.0.0.1"), (b"host", b"127.0.0.1"),
               (b"cookie", f"sessionid={cookie}".encode())]
    return WebsocketCommunicator(application, "/ws/console/", headers=headers)


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("close_thread_connections")
async def test_the_console_socket_refuses_a_member_without_two_factor(caplog):
    cookie = await sync_to_async(_socket_member)(require_mfa=True, totp=False)
    communicator = _communicator(cookie)
    with caplog.at_level(logging.INFO, logger="routing.consumers"):
        connected, code = await communicator.connect()
    assert not connected and code == 4428
    assert "console socket refused: two-factor not set up" in caplog.messages
    await communicator.wait()


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("close_thread_connections")
async def test_the_console_socket_lets_a_member_with_totp_in():
    cookie = await sync_to_async(_socket_member)(require_mfa=True, totp=True)
    communicator = _communicator(cookie)
    connected, _ = await communicator.connect()
    assert connected
    hello = await communicator.receive_json_from()
    assert hello["type"] == "hello"
    await communicator.disconnect()
