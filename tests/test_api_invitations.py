"""POST /api/v1/invitations/ with a brand API key: the invitation is signed by the key.

It answered 500 after saving the row: the mail, sent after commit, asked the missing user
for their name. Now the key is recorded and named in the mail, and a refused invitation
saves nothing.
"""

import pytest
from django.core import mail

from accounts.models import Invitation
from accounts.services import api_key_create

pytestmark = pytest.mark.django_db
URL = "/api/v1/invitations/"


@pytest.fixture
def key(client, two_brands):
    key, raw = api_key_create(brand=two_brands["brand_a"], name="HR sync")
    client.defaults["HTTP_AUTHORIZATION"] = f"Bearer {raw}"
    return key


def test_an_api_key_invites_and_the_mail_names_the_key(
    client, two_brands, key, django_capture_on_commit_callbacks
):
    a1 = two_brands["a1"]
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            URL, {"email": "New.Agent@Example.com", "role": "agent", "accounts": [a1.pk]},
            content_type="application/json",
        )
    assert response.status_code == 201, response.content
    body = response.json()
    assert (body["email"], body["role"], body["accounts"]) == (
        "new.agent@example.com", "agent", [a1.pk]
    )
    invitation = Invitation.objects.get(pk=body["id"])
    assert invitation.invited_by_key == key and invitation.invited_by is None
    assert invitation.brand == two_brands["brand_a"]
    assert len(mail.outbox) == 1
    assert mail.outbox[0].body.startswith("HR sync invited you as Agent.")


def test_inviting_the_same_address_again_with_a_key_keeps_one_invitation_signed_by_it(
    client, two_brands, key, django_capture_on_commit_callbacks
):
    for _attempt in range(2):
        with django_capture_on_commit_callbacks(execute=True):
            response = client.post(URL, {"email": "twice@example.com", "role": "agent"},
                                   content_type="application/json")
        assert response.status_code == 201, response.content
    invitation = Invitation.objects.get(email="twice@example.com")
    assert invitation.invited_by_key == key
    assert len(mail.outbox) == 2 and "HR sync" in mail.outbox[1].body


def test_a_member_still_signs_their_own_invitations(
    client, two_brands, django_capture_on_commit_callbacks
):
    admin = two_brands["admin_a"]
    client.force_login(admin.user)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(URL, {"email": "by-a-person@example.com", "role": "agent"},
                               content_type="application/json")
    assert response.status_code == 201, response.content
    invitation = Invitation.objects.get(email="by-a-person@example.com")
    assert invitation.invited_by == admin.user and invitation.invited_by_key is None
    assert mail.outbox[0].body.startswith(f"{admin.user.get_full_name()} invited you")


@pytest.mark.parametrize("bad,status", [
    ({"accounts": ["FOREIGN"]}, 404),  # another brand's account, checked after the row
    ({"role": "owner"}, 403),  # a key acts as an admin, who cannot make owners
    ({"email": "not-an-email"}, 400),
])
def test_a_refused_invitation_saves_nothing_and_mails_nothing(
    client, two_brands, key, django_capture_on_commit_callbacks, bad, status
):
    data = {"email": "refused@example.com", "role": "agent", **bad}
    if data.get("accounts") == ["FOREIGN"]:
        data["accounts"] = [two_brands["b1"].pk]
    before = Invitation.objects.count()
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(URL, data, content_type="application/json")
    assert response.status_code == status, response.content
    assert "detail" in response.json() or set(bad) & set(response.json())
    assert Invitation.objects.count() == before
    assert mail.outbox == []
