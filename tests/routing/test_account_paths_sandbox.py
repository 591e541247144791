"""The seeds' case end to end, through the sandbox and the portal's real callback: a guest
books through Marriott China's account and is handed to the concierge of the Shanghai Bund
hotel for an airport pick-up, by each of the three account-to-account paths.

The sandbox pushes the guest's messages and follows, signed, to the live server; the
portal's replies go back through the platform API, and the guest's sandbox inbox on each
account shows what they received there.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pytest
from django.core.cache import cache
from django.utils import timezone

from accounts.models import Membership, OfficialAccount
from accounts.scope import Scope, scope_for_membership
from followers.models import Follower
from messaging import services
from messaging.models import Conversation, Message
from routing import account_paths
from routing.transfers import transfer_accept, transfer_create
from tests.factories import make_brand, make_member, make_team
from tests.messaging.callback_support import connected_account
from wechat.sandbox.server import SandboxServer

pytestmark = pytest.mark.django_db(transaction=True)

NOTE = "Booked tonight; wants an airport pick-up from PVG, flight MU5101 lands 21:40."
PICK_UP = "A car will wait for you at PVG arrivals, 21:40."
CUSTOM_SEND = "/cgi-bin/message/custom/send"


@dataclass
class Hotels:
    sandbox: SandboxServer
    flagship: OfficialAccount
    bund: OfficialAccount
    lily: Membership
    concierge: Membership

    def ctl(self, method: str, path: str, body: Any = None) -> Any:
        return self.sandbox.control(method, path, body)

    def follow(self, account: OfficialAccount, **body: Any) -> dict:
        answer = self.ctl("POST", f"/accounts/{account.appid}/followers", body)
        assert answer["push"]["status"] == 200, answer["push"]
        return answer

    def say(self, account: OfficialAccount, openid: str, text: str) -> None:
        push = self.ctl("POST", f"/accounts/{account.appid}/followers/{openid}/send",
                        {"type": "text", "content": text})["push"]
        assert push["status"] == 200 and push["error"] is None, push

    def inbox(self, account: OfficialAccount, openid: str) -> list[dict]:
        return self.ctl("GET", f"/accounts/{account.appid}/followers/{openid}/inbox")[
            "messages"]

    def texts(self, account: OfficialAccount, openid: str) -> list[str]:
        return [m["text"]["content"] for m in self.inbox(account, openid)
                if m["msgtype"] == "text"]

    def sends_from(self, account: OfficialAccount) -> list[dict]:
        return self.sandbox.control("GET", "/calls", query={
            "appid": account.appid, "path": CUSTOM_SEND})["calls"]

    @property
    def lily_scope(self) -> Scope:
        return scope_for_membership(self.lily)

    @property
    def concierge_scope(self) -> Scope:
        return scope_for_membership(self.concierge)

    def guest_writes_to_the_flagship(self, **follow: Any) -> tuple[dict, Conversation]:
        followed = self.follow(self.flagship, **follow)
        self.say(self.flagship, followed["openid"],
                 "I just booked the Bund hotel for tonight. Can someone pick me up at PVG?")
        return followed, Conversation.objects.get(follower__openid=followed["openid"])


def _member(brand, name: str, account: OfficialAccount, team) -> Membership:  # noqa: ANN001
    member = make_member(brand=brand, accounts=[account])
    member.teams.add(team)
    Membership.objects.filter(pk=member.pk).update(display_name=name, presence="online")
    member.refresh_from_db()
    return member


@pytest.fixture
def hotels(sandbox, live_server, settings, tmp_path) -> Hotels:  # noqa: ANN001
    """Marriott China (the flagship) and the Shanghai Bund hotel, both pushing to the
    portal's live callback and in one open-platform group (one unionid per guest); Lily
    answers the flagship, the Concierge the hotel."""
    settings.WECHAT_API_BASE = sandbox.base_url
    settings.MEDIA_ROOT = str(tmp_path)
    cache.clear()
    brand = make_brand(name="Marriott")
    group = sandbox.control("POST", "/groups", {"name": "Marriott"})["id"]
    flagship = connected_account(sandbox, live_server, brand=brand, name="Marriott China",
                                 is_flagship=True)
    bund = connected_account(sandbox, live_server, brand=brand, name="Shanghai Bund hotel")
    for account in (flagship, bund):
        sandbox.control("PATCH", f"/accounts/{account.appid}", {"group_id": group})
    # A verified service account makes parametric QR codes.
    OfficialAccount.objects.filter(pk=bund.pk).update(verified=True)
    bund.refresh_from_db()
    reservations = make_team(brand=brand, name="Reservations", accounts=[flagship])
    desk = make_team(brand=brand, name="Concierge desk", accounts=[bund])
    lily = _member(brand, "Lily", flagship, reservations)
    concierge = _member(brand, "Concierge", bund, desk)
    yield Hotels(sandbox, flagship, bund, lily, concierge)
    cache.clear()


def test_relay_the_concierge_answers_in_the_flagships_chat_as_the_hotels_concierge(
        hotels: Hotels) -> None:
    followed, convo = hotels.guest_writes_to_the_flagship()
    openid = followed["openid"]
    paths = {p["path"]: p for p in account_paths.paths_for(convo, hotels.bund)}
    assert paths["relay"]["default"] and not paths["continue"]["possible"]

    transfer = transfer_create(scope=hotels.lily_scope, conversation=convo,
                               to_account=hotels.bund, to_agent=hotels.concierge,
                               path="relay", note=NOTE, by=hotels.lily)
    transfer_accept(scope=hotels.concierge_scope, transfer=transfer)
    convo.refresh_from_db()
    assert (convo.channel_account_id, convo.handling_account_id) == (
        hotels.flagship.pk, hotels.bund.pk)
    assert convo.assignee_id == hotels.concierge.pk

    reply = services.message_reply(scope=hotels.concierge_scope, conversation=convo,
                                   text=PICK_UP, by=hotels.concierge, sign=True)
    reply.refresh_from_db()
    assert reply.status == Message.Status.SENT, reply.error_reason
    assert reply.sender_display == "Concierge · Shanghai Bund hotel"
    # In the chat the guest already has, with the flagship: signed as the hotel's concierge.
    assert hotels.texts(hotels.flagship, openid) == [
        f"{PICK_UP}\n— Concierge · Shanghai Bund hotel"]
    assert len(hotels.sends_from(hotels.flagship)) == 1
    assert hotels.sends_from(hotels.bund) == []


def test_continue_a_guest_who_follows_the_hotel_too_is_answered_there(
        hotels: Hotels, client) -> None:  # noqa: ANN001
    followed, convo = hotels.guest_writes_to_the_flagship()
    # The same guest (one person: the same unionid) follows the hotel and wrote there.
    at_bund = hotels.follow(hotels.bund, person_id=followed["person_id"])
    assert at_bund["unionid"] == followed["unionid"]
    hotels.say(hotels.bund, at_bund["openid"], "Hello")
    bund_follower = Follower.objects.get(account=hotels.bund, openid=at_bund["openid"])
    assert bund_follower.customer_id == convo.customer_id  # linked by unionid
    live_there = Conversation.objects.get(follower=bund_follower)
    assert account_paths.default_path(convo, hotels.bund) == "continue"

    transfer = transfer_create(scope=hotels.lily_scope, conversation=convo,
                               to_account=hotels.bund, to_agent=hotels.concierge,
                               path="continue", note=NOTE, by=hotels.lily)
    transfer.refresh_from_db()
    assert transfer.status == "completed"
    assert transfer.target_conversation_id == live_there.pk  # its live one, reused
    convo.refresh_from_db()
    target = Conversation.objects.get(pk=live_there.pk)
    assert convo.status == "resolved"
    assert target.linked_from_id == convo.pk and target.assignee_id == hotels.concierge.pk
    assert target.handling_account_id == hotels.bund.pk
    line = target.messages.filter(direction="system").get()
    assert line.content == f"← Marriott China · #{convo.pk}\n{NOTE}"
    assert convo.messages.filter(direction="system").last().content == (
        f"→ Shanghai Bund hotel · #{target.pk}\n{NOTE}")

    reply = services.message_reply(scope=hotels.concierge_scope, conversation=target,
                                   text=PICK_UP, by=hotels.concierge)
    reply.refresh_from_db()
    assert reply.status == Message.Status.SENT, reply.error_reason
    assert hotels.texts(hotels.bund, at_bund["openid"]) == [PICK_UP]
    assert hotels.texts(hotels.flagship, followed["openid"]) == []

    # The console opens one from the other.
    client.force_login(hotels.concierge.user)
    detail = client.get(f"/api/v1/conversations/{target.pk}/").json()
    assert detail["linked_from"] == convo.pk
    client.force_login(hotels.lily.user)
    assert client.get(f"/api/v1/conversations/{convo.pk}/").json()["continued_as"] == [
        target.pk]


def test_continue_without_a_window_there_invites_the_guest_from_the_open_chat(
        hotels: Hotels) -> None:
    followed, convo = hotels.guest_writes_to_the_flagship(language="en")
    at_bund = hotels.follow(hotels.bund, person_id=followed["person_id"])
    # The follow's minute-long window has passed, on the platform and in the portal.
    hotels.sandbox.clock.advance(61)
    Follower.objects.filter(account=hotels.bund).update(
        short_window_opened_at=timezone.now() - timedelta(minutes=2))
    paths = {p["path"]: p for p in account_paths.paths_for(convo, hotels.bund)}
    assert paths["continue"]["possible"] and paths["relay"]["default"]

    transfer = transfer_create(scope=hotels.lily_scope, conversation=convo,
                               to_account=hotels.bund, to_agent=hotels.concierge,
                               path="continue", note=NOTE, by=hotels.lily)
    # The agent is told, in a sentence.
    assert transfer.notice == (
        "No reply window is open on Shanghai Bund hotel: the guest was asked, in this chat, "
        "to write there; the conversation waits for them.")
    # The guest was asked in the chat that is open: the flagship's.
    assert hotels.texts(hotels.flagship, followed["openid"]) == [
        "To continue with Shanghai Bund hotel, send us a message in the Shanghai Bund hotel "
        "account."]
    transfer.refresh_from_db()
    target = transfer.target_conversation
    assert target.assignee_id == hotels.concierge.pk and target.waiting_since is None

    # They write there: the conversation the concierge holds goes on, and can be answered.
    hotels.say(hotels.bund, at_bund["openid"], "Hi, about my pick-up")
    target.refresh_from_db()
    assert target.status == "open" and target.waiting_since is not None
    assert target.assignee_id == hotels.concierge.pk
    assert Conversation.objects.filter(follower=target.follower).count() == 1
    services.message_reply(scope=hotels.concierge_scope, conversation=target, text=PICK_UP,
                           by=hotels.concierge)
    assert hotels.texts(hotels.bund, at_bund["openid"]) == [PICK_UP]


def test_the_rest_answer_tells_the_agent_when_the_target_has_no_window(
        hotels: Hotels, client) -> None:  # noqa: ANN001
    followed, convo = hotels.guest_writes_to_the_flagship(language="en")
    hotels.follow(hotels.bund, person_id=followed["person_id"])
    hotels.sandbox.clock.advance(61)
    Follower.objects.filter(account=hotels.bund).update(
        short_window_opened_at=timezone.now() - timedelta(minutes=2))
    client.force_login(hotels.lily.user)
    answer = client.post(f"/api/v1/conversations/{convo.pk}/transfer/", {
        "account": hotels.bund.pk, "agent": hotels.concierge.pk, "path": "continue",
        "note": NOTE}, content_type="application/json")
    assert answer.status_code == 200, answer.content
    assert answer.json()["transfer_notice"] == (
        "No reply window is open on Shanghai Bund hotel: the guest was asked, in this chat, "
        "to write there; the conversation waits for them.")


def _the_code(hotels: Hotels) -> Any:
    [code] = [c for c in hotels.sandbox.state.qrcodes.values()
              if c.appid == hotels.bund.appid]
    return code


def test_invite_a_guest_who_follows_only_the_flagship_scans_and_lands_with_the_concierge(
        hotels: Hotels, caplog) -> None:  # noqa: ANN001
    followed, convo = hotels.guest_writes_to_the_flagship()
    paths = {p["path"]: p for p in account_paths.paths_for(convo, hotels.bund)}
    assert paths["invite"]["possible"]

    before = timezone.now()
    transfer = transfer_create(scope=hotels.lily_scope, conversation=convo,
                               to_account=hotels.bund, to_agent=hotels.concierge,
                               path="invite", note=NOTE, by=hotels.lily)
    transfer.refresh_from_db()
    assert transfer.status == "invited" and transfer.target_conversation is None
    assert transfer.expires_at - before >= timedelta(seconds=account_paths.INVITE_SECONDS)
    code = _the_code(hotels)
    assert code.action_name == "QR_STR_SCENE" and code.expire_at is not None
    token = code.scene_str.removeprefix(account_paths.SCENE_PREFIX)
    assert transfer.token_hash == account_paths.token_hash(token) != token

    # In the flagship's chat: a line, then the hotel's QR code as an image.
    inbox = hotels.inbox(hotels.flagship, followed["openid"])
    assert [m["msgtype"] for m in inbox] == ["text", "image"]
    # In the guest's language (their WeChat speaks Chinese).
    assert inbox[0]["text"]["content"] == (
        "扫描此二维码关注 Shanghai Bund hotel：我们将在那里继续为您服务。")
    image = Message.objects.get(conversation=convo, msg_type="image")
    assert image.status == Message.Status.SENT
    assert inbox[1]["image"]["media_id"] == image.payload["media_id"]
    with image.media.open("rb") as fh:
        assert fh.read() == account_paths.qr_png(code.url)
    convo.refresh_from_db()
    assert convo.status == "open" and convo.handling_account_id == hotels.flagship.pk

    # The guest scans it and follows the hotel.
    at_bund = hotels.follow(hotels.bund, person_id=followed["person_id"], ticket=code.ticket)
    newcomer = Follower.objects.get(account=hotels.bund, openid=at_bund["openid"])
    assert newcomer.customer_id == convo.customer_id
    landed = Conversation.objects.get(follower=newcomer)
    assert landed.linked_from_id == convo.pk
    assert (landed.channel_account_id, landed.assignee_id) == (
        hotels.bund.pk, hotels.concierge.pk)
    assert landed.messages.filter(direction="system").get().content == (
        f"← Marriott China · #{convo.pk}\n{NOTE}")
    transfer.refresh_from_db()
    assert transfer.status == "completed" and transfer.target_conversation_id == landed.pk
    convo.refresh_from_db()
    assert convo.status == "resolved"

    # The follow opened a window there: the concierge answers at once, from the hotel.
    services.message_reply(scope=hotels.concierge_scope, conversation=landed, text=PICK_UP,
                           by=hotels.concierge)
    assert hotels.texts(hotels.bund, at_bund["openid"]) == [PICK_UP]

    # A second scan (now a follower: SCAN) lands nothing more.
    with caplog.at_level(logging.INFO, logger="routing.account_paths"):
        scan = hotels.ctl("POST", f"/accounts/{hotels.bund.appid}/followers/"
                          f"{at_bund['openid']}/scan", {"ticket": code.ticket})
    assert scan["push"]["status"] == 200, scan["push"]
    assert "transfer token already used" in caplog.text
    assert Conversation.objects.filter(follower=newcomer).count() == 1
    assert landed.messages.filter(direction="system").count() == 1


def test_invite_someone_already_following_the_hotel_unknown_to_the_portal_lands_on_scan(
        hotels: Hotels) -> None:
    """Outside an open-platform group there is no unionid: the portal cannot know the
    guest follows the hotel, until they scan the code there (SCAN)."""
    for account in (hotels.flagship, hotels.bund):
        hotels.ctl("PATCH", f"/accounts/{account.appid}", {"group_id": None})
    followed, convo = hotels.guest_writes_to_the_flagship()
    at_bund = hotels.follow(hotels.bund, person_id=followed["person_id"])
    known = Follower.objects.get(account=hotels.bund, openid=at_bund["openid"])
    assert known.customer_id != convo.customer_id

    transfer = transfer_create(scope=hotels.lily_scope, conversation=convo,
                               to_account=hotels.bund, path="invite", note=NOTE,
                               by=hotels.lily)
    code = _the_code(hotels)
    scan = hotels.ctl("POST", f"/accounts/{hotels.bund.appid}/followers/{at_bund['openid']}"
                      "/scan", {"ticket": code.ticket})
    assert scan["push"]["status"] == 200, scan["push"]
    known.refresh_from_db()
    assert known.customer_id == convo.customer_id
    landed = Conversation.objects.get(follower=known)
    assert landed.linked_from_id == convo.pk
    # No agent was named: it waits in the hotel's concierge queue.
    assert landed.team.name == "Concierge desk"
    transfer.refresh_from_db()
    assert transfer.status == "completed"
