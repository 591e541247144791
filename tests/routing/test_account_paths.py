"""Account-to-account paths (routing.account_paths): which are possible and why, the
default, the reply identity after a relay, and the invitation token's refusals. The
whole journeys through the sandbox are in test_account_paths_sandbox.py."""

from __future__ import annotations

import logging
from datetime import timedelta

import pytest
from django.utils import timezone

from accounts.errors import Conflict, NotInScope
from accounts.models import Membership, OfficialAccount
from messaging.models import Conversation, Message
from messaging.services import sender_display
from routing import account_paths
from routing.models import Transfer
from tests.factories import make_follower, make_member, make_team

pytestmark = pytest.mark.django_db

API = "/api/v1/conversations/"


@pytest.fixture
def guest(two_brands):
    """A guest of the flagship (a1) who wrote a moment ago; Lily answers there, the
    property (a2) has a concierge."""
    brand = two_brands["brand_a"]
    lily = make_member(brand=brand, accounts=[two_brands["a1"]])
    concierge = make_member(brand=brand, accounts=[two_brands["a2"]])
    Membership.objects.filter(pk=lily.pk).update(display_name="Lily")
    Membership.objects.filter(pk=concierge.pk).update(display_name="Concierge")
    lily.refresh_from_db()
    concierge.refresh_from_db()
    convo = two_brands["conversation_a"]
    return {**two_brands, "lily": lily, "concierge": concierge, "convo": convo}


def _paths(convo: Conversation, account: OfficialAccount) -> dict[str, dict]:
    return {p["path"]: p for p in account_paths.paths_for(convo, account)}


def _follows_property(guest: dict, *, window_at=None, **fields) -> object:
    """The same customer also follows the property (a2)."""
    convo = guest["convo"]
    return make_follower(account=guest["a2"], customer=convo.customer, window_at=window_at,
                         **fields)


def test_a_guest_who_follows_nothing_else_can_be_relayed_or_invited(guest) -> None:
    OfficialAccount.objects.filter(pk=guest["a2"].pk).update(verified=True)
    guest["a2"].refresh_from_db()
    paths = _paths(guest["convo"], guest["a2"])
    assert [p for p in paths] == ["relay", "continue", "invite"]
    assert paths["relay"]["possible"] and paths["relay"]["default"]
    assert "A property" in paths["relay"]["why"] and "A flagship" in paths["relay"]["why"]
    assert not paths["continue"]["possible"]
    assert paths["continue"]["why"] == (
        "The guest does not follow A property, as far as the portal knows.")
    assert paths["invite"]["possible"] and not paths["invite"]["default"]
    assert account_paths.default_path(guest["convo"], guest["a2"]) == "relay"


def test_invite_needs_an_account_that_makes_qr_codes_and_an_open_chat(guest) -> None:
    # Factory accounts are unverified: no parametric QR codes.
    assert not _paths(guest["convo"], guest["a2"])["invite"]["possible"]
    assert "cannot make QR codes" in _paths(guest["convo"], guest["a2"])["invite"]["why"]
    OfficialAccount.objects.filter(pk=guest["a2"].pk).update(verified=True)
    guest["a2"].refresh_from_db()
    follower = guest["convo"].follower
    follower.window_opened_at = timezone.now() - timedelta(days=3)
    follower.save(update_fields=["window_opened_at"])
    invite = _paths(guest["convo"], guest["a2"])["invite"]
    assert not invite["possible"]
    assert invite["why"] == "No reply window is open in this chat, so the QR code cannot be sent."


def test_a_guest_following_the_property_with_a_window_continues_there_by_default(
        guest) -> None:
    _follows_property(guest)
    paths = _paths(guest["convo"], guest["a2"])
    assert paths["continue"]["possible"] and paths["continue"]["default"]
    assert not paths["relay"]["default"]
    assert "can be answered there now" in paths["continue"]["why"]
    assert not paths["invite"]["possible"]
    assert paths["invite"]["why"] == (
        "The guest already follows A property: continue there instead.")
    assert account_paths.default_path(guest["convo"], guest["a2"]) == "continue"


def test_without_a_window_there_continue_is_possible_but_relay_is_the_default(guest) -> None:
    _follows_property(guest, window_at=timezone.now() - timedelta(days=3))
    paths = _paths(guest["convo"], guest["a2"])
    assert paths["continue"]["possible"] and not paths["continue"]["default"]
    assert "no reply window is open there" in paths["continue"]["why"]
    assert paths["relay"]["default"]


def test_the_same_unionid_counts_as_following_before_the_customers_are_linked(guest) -> None:
    convo = guest["convo"]
    convo.follower.unionid = "o6_union"
    convo.follower.save(update_fields=["unionid"])
    make_follower(account=guest["a2"], unionid="o6_union")  # a customer of its own
    assert _paths(convo, guest["a2"])["continue"]["possible"]


def test_an_unsubscribed_follower_of_the_target_does_not_count(guest) -> None:
    _follows_property(guest, subscribed=False)
    assert not _paths(guest["convo"], guest["a2"])["continue"]["possible"]


def test_the_channel_account_itself_offers_relay_only(guest) -> None:
    paths = _paths(guest["convo"], guest["a1"])
    assert paths["relay"]["possible"]
    assert not paths["continue"]["possible"] and not paths["invite"]["possible"]


def test_another_brands_account_is_not_found(guest) -> None:
    with pytest.raises(NotInScope):
        account_paths.paths_for(guest["convo"], guest["b1"])
    with pytest.raises(NotInScope):
        account_paths.default_path(guest["convo"], guest["b1"])


def test_after_a_relay_replies_are_signed_as_the_handling_account(guest) -> None:
    convo = guest["convo"]
    assert sender_display(by=guest["lily"], conversation=convo) == "Lily · A flagship"
    convo.handling_account = guest["a2"]
    convo.save(update_fields=["handling_account"])
    assert sender_display(by=guest["concierge"], conversation=convo) == (
        "Concierge · A property")
    assert sender_display(by=None, conversation=convo) == "A property"


# -- carry_out's refusals ----------------------------------------------------------------


def _transfer(guest: dict, path: str, **fields) -> Transfer:
    return Transfer.objects.create(
        brand=guest["brand_a"], conversation=guest["convo"], kind=Transfer.Kind.ACCOUNT,
        path=path, to_account=guest["a2"], to_agent=guest["concierge"], note="Pick-up",
        by=guest["lily"], **fields)


def test_continue_is_refused_when_the_guest_does_not_follow_the_target(guest) -> None:
    with pytest.raises(Conflict, match="does not follow A property"):
        account_paths.carry_out(_transfer(guest, "continue"))


def test_invite_is_refused_for_a_guest_who_follows_the_target(guest) -> None:
    _follows_property(guest)
    with pytest.raises(Conflict, match="already follows A property"):
        account_paths.carry_out(_transfer(guest, "invite"))


def test_an_agent_who_does_not_serve_the_target_cannot_be_named(guest) -> None:
    _follows_property(guest)
    transfer = _transfer(guest, "continue")
    transfer.to_agent = guest["lily"]  # serves the flagship only
    with pytest.raises(Conflict, match="Lily cannot hold this conversation there"):
        account_paths.carry_out(transfer)
    assert Conversation.objects.get(pk=guest["convo"].pk).status == "open"


def test_a_resolved_conversation_is_not_handed_on(guest) -> None:
    _follows_property(guest)
    Conversation.objects.filter(pk=guest["convo"].pk).update(status="resolved")
    with pytest.raises(Conflict, match="resolved"):
        account_paths.carry_out(_transfer(guest, "continue"))


def test_continue_with_a_window_lands_on_the_target_and_links_both(guest, announced) -> None:
    target_follower = _follows_property(guest)
    team = make_team(brand=guest["brand_a"], name="Concierge desk", accounts=[guest["a2"]])
    transfer = _transfer(guest, "continue", to_team=team)
    account_paths.carry_out(transfer)
    origin = Conversation.objects.get(pk=guest["convo"].pk)
    target = Conversation.objects.get(follower=target_follower)
    assert origin.status == "resolved" and origin.waiting_since is None
    assert target.linked_from_id == origin.pk and target.status == "open"
    assert (target.channel_account_id, target.handling_account_id) == (guest["a2"].pk,) * 2
    assert (target.team_id, target.assignee_id) == (team.pk, guest["concierge"].pk)
    assert target.waiting_since is not None
    transfer.refresh_from_db()
    assert transfer.status == "completed" and transfer.target_conversation_id == target.pk
    assert transfer.notice == ""
    [into] = target.messages.filter(direction="system")
    assert into.content == f"← A flagship · #{origin.pk}\nPick-up"
    assert into.payload["transfer"]["from_conversation"] == origin.pk
    [out] = origin.messages.filter(direction="system")
    assert out.content == f"→ A property · #{target.pk}\nPick-up"
    # Nothing was sent to the guest: the property can answer them itself.
    assert not Message.objects.filter(direction="out").exists()
    names = [name for name, _p in announced if name.startswith("conversation.")]
    assert names == ["conversation.resolved", "conversation.transferred"]


def test_the_detail_shows_the_linked_conversations(guest, client) -> None:
    _follows_property(guest)
    transfer = _transfer(guest, "continue")
    account_paths.carry_out(transfer)
    target = transfer.target_conversation
    admin = guest["admin_a"]
    client.force_login(admin.user)
    origin = client.get(f"{API}{guest['convo'].pk}/").json()
    assert origin["linked_from"] is None and origin["continued_as"] == [target.pk]
    assert client.get(f"{API}{target.pk}/").json()["linked_from"] == guest["convo"].pk


# -- the invitation's token --------------------------------------------------------------


def _invited(guest: dict, *, expires_in: timedelta = timedelta(hours=1)) -> tuple[Transfer, str]:
    token = "t0ken-for-the-test"
    transfer = _transfer(guest, "invite", status=Transfer.Status.INVITED,
                         token_hash=account_paths.token_hash(token),
                         expires_at=timezone.now() + expires_in)
    return transfer, token


def _followed(account: OfficialAccount, follower, scene: str) -> dict:
    return {"brand_id": account.brand_id, "account_id": account.pk,
            "follower_id": follower.pk, "customer_id": follower.customer_id,
            "at": timezone.now().isoformat(), "qr_scene": scene}


def test_only_the_sha256_of_the_token_is_kept(guest) -> None:
    transfer, token = _invited(guest)
    assert len(transfer.token_hash) == 64 and token not in transfer.token_hash


def test_an_expired_token_is_refused_with_a_log_line(guest, caplog) -> None:
    transfer, token = _invited(guest, expires_in=timedelta(seconds=-1))
    newcomer = make_follower(account=guest["a2"])
    with caplog.at_level(logging.INFO, logger="routing.account_paths"):
        account_paths.invitation_followed("follower.subscribed", _followed(
            guest["a2"], newcomer, account_paths.SCENE_PREFIX + token))
    assert "transfer token refused: expired" in caplog.text
    transfer.refresh_from_db()
    assert transfer.status == "expired" and transfer.target_conversation is None
    assert not Conversation.objects.filter(follower=newcomer).exists()
    newcomer.refresh_from_db()
    assert newcomer.customer_id != guest["convo"].customer_id


def test_a_token_scanned_at_another_account_is_refused(guest, caplog) -> None:
    transfer, token = _invited(guest)
    elsewhere = make_follower(account=guest["a1"])
    with caplog.at_level(logging.INFO, logger="routing.account_paths"):
        account_paths.invitation_followed("follower.scanned", _followed(
            guest["a1"], elsewhere, account_paths.SCENE_PREFIX + token))
    assert "transfer token refused: unknown here" in caplog.text
    transfer.refresh_from_db()
    assert transfer.status == "invited"


def test_an_unknown_token_and_other_scenes_change_nothing(guest, caplog) -> None:
    newcomer = make_follower(account=guest["a2"])
    with caplog.at_level(logging.INFO, logger="routing.account_paths"):
        account_paths.invitation_followed("follower.subscribed", _followed(
            guest["a2"], newcomer, "spring_sale"))
        assert caplog.text == ""
        account_paths.invitation_followed("follower.subscribed", _followed(
            guest["a2"], newcomer, account_paths.SCENE_PREFIX + "forged"))
    assert "transfer token refused: unknown here" in caplog.text
    assert not Conversation.objects.filter(follower=newcomer).exists()


def test_a_valid_token_lands_once_and_links_the_follower(guest, caplog, announced) -> None:
    transfer, token = _invited(guest)
    newcomer = make_follower(account=guest["a2"])
    placeholder = newcomer.customer_id
    payload = _followed(guest["a2"], newcomer, account_paths.SCENE_PREFIX + token)
    account_paths.invitation_followed("follower.subscribed", payload)
    newcomer.refresh_from_db()
    assert newcomer.customer_id == guest["convo"].customer_id
    merged = [p for name, p in announced if name == "customer.merged"]
    assert merged == [{"brand_id": guest["brand_a"].pk, "customer_id": newcomer.customer_id,
                       "merged_customer_id": placeholder, "follower_ids": [newcomer.pk],
                       "by_membership_id": None}]
    landed = Conversation.objects.get(follower=newcomer)
    assert landed.linked_from_id == guest["convo"].pk
    assert landed.assignee_id == guest["concierge"].pk
    with caplog.at_level(logging.INFO, logger="routing.account_paths"):
        account_paths.invitation_followed("follower.scanned", payload)
    assert "transfer token already used" in caplog.text
    assert Conversation.objects.filter(follower=newcomer).count() == 1
    assert landed.messages.filter(direction="system").count() == 1


# -- REST --------------------------------------------------------------------------------


def test_the_paths_answer_in_rest(guest, client) -> None:
    client.force_login(guest["lily"].user)
    url = f"{API}{guest['convo'].pk}/transfer-paths/"
    answer = client.get(url, {"account": guest["a2"].pk})
    assert answer.status_code == 200, answer.content
    assert [(p["path"], p["possible"], p["default"]) for p in answer.json()] == [
        ("relay", True, True), ("continue", False, False), ("invite", False, False)]
    assert all(p["why"] for p in answer.json())


def test_the_paths_answer_in_chinese(guest, client) -> None:
    client.force_login(guest["lily"].user)
    answer = client.get(f"{API}{guest['convo'].pk}/transfer-paths/",
                        {"account": guest["a2"].pk}, HTTP_ACCEPT_LANGUAGE="zh-hans")
    relay = answer.json()[0]["why"]
    assert "A property" in relay and "guest" not in relay


def test_the_paths_refuse_foreign_and_missing_ids(guest, client) -> None:
    client.force_login(guest["lily"].user)
    convo = guest["convo"]
    url = f"{API}{convo.pk}/transfer-paths/"
    assert client.get(url, {"account": guest["b1"].pk}).status_code == 404
    assert client.get(url).status_code == 400
    foreign = f"{API}{guest['conversation_b'].pk}/transfer-paths/"
    assert client.get(foreign, {"account": guest["a2"].pk}).status_code == 404
    # The concierge does not see the flagship's conversation: 404, not its paths.
    client.force_login(guest["concierge"].user)
    assert client.get(url, {"account": guest["a2"].pk}).status_code == 404

