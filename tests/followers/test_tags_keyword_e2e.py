"""The "reply TC, SC or EN to choose your language" case, end to end through the sandbox:
the sandbox follower sends "EN"; the customer's language becomes English; the WeChat tag
"EN" is set on that account (the sandbox's getidlist shows it); routing's language follows;
the reply goes out in English (the sandbox inbox shows it)."""

from __future__ import annotations

import pytest

from accounts.models import Role
from accounts.scope import Scope
from followers.models import AccountTag, CustomerActivity, Follower, TagSync
from followers.tag_rules import tag_rule_save
from messaging.models import AutoReply, Message
from routing import language as routing_language
from routing.rules import facts_for
from tests.factories import make_brand
from tests.messaging.callback_support import connected_account, follow, say
from wechat.client.official import WeChatClient

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def platform(portal_sandbox, settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path)
    return portal_sandbox


def _language_rules(brand):
    scope = Scope(brand=brand, role=Role.ADMIN)
    for code, lang, tag, reply in (
        ("EN", "en", "EN", "Thanks! We will answer in English."),
        ("TC", "zh_TW", "TC", "謝謝！我們會用繁體中文回覆。"),
        ("SC", "zh_CN", "SC", "谢谢！我们会用简体中文回复。"),
    ):
        tag_rule_save(scope=scope, data={
            "name": f"language {code}", "match": "exact", "pattern": code,
            "add_tags": [tag], "remove_tags": [t for t in ("EN", "TC", "SC") if t != tag],
            "set_language": lang, "replies": {lang: reply},
            "reply_text": "Reply TC, SC or EN.",
        })


def _inbox_texts(platform, account, openid):
    inbox = platform.control("GET", f"/accounts/{account.appid}/followers/{openid}/inbox")
    return [m.get("text", {}).get("content") or m.get("content") for m in inbox["messages"]]


def test_the_follower_sends_en_and_everything_follows(platform, live_server):
    brand = make_brand()
    account = connected_account(platform, live_server, brand=brand)
    _language_rules(brand)
    openid = follow(platform, account)["openid"]
    follower = Follower.objects.get(account=account, openid=openid)
    assert follower.language == "zh_CN"  # the sandbox person's phone language

    said = say(platform, account, openid, "EN")
    assert said["push"]["status"] == 200

    # (2) the customer's (and the follower's) language is English, on the timeline.
    follower.refresh_from_db()
    assert follower.language == "en" and follower.customer.language == "en"
    assert CustomerActivity.objects.filter(customer=follower.customer, kind="language",
                                           data__language="en").exists()
    # (3) the WeChat tag "EN" is on that account and on the follower, on WeChat's side.
    mapped = AccountTag.objects.get(account=account, tag__name="EN")
    client = WeChatClient(appid=account.appid, secret=account.app_secret,
                          base_url=platform.base_url)
    assert client.tag_ids_of_user(openid) == [mapped.wechat_id]
    assert list(follower.tags.values_list("name", flat=True)) == ["EN"]
    assert not TagSync.objects.exists()
    # (4) routing's language follows: the profile language it reads is now English, so a
    # later message in Chinese still routes as English.
    assert routing_language.language_from_profile(follower.language) == "en"
    conversation = Message.objects.get(content="EN").conversation
    assert conversation.language == "en"
    assert facts_for(conversation, text="你好，请问几点开门").language == "en"
    detection = routing_language.language_of(text="你好，请问几点开门",
                                             profile_language=follower.language)
    assert (detection.language, detection.source) == ("en", "profile")
    # (5) the English reply went out as a customer-service message: the inbox has it.
    reply = Message.objects.get(direction="out")
    assert reply.status == "sent" and reply.payload["tag_rule"]
    assert _inbox_texts(platform, account, openid) == ["Thanks! We will answer in English."]

    # Changing mind: "TC" swaps the tag on WeChat and answers in Traditional Chinese.
    say(platform, account, openid, "tc")
    tc = AccountTag.objects.get(account=account, tag__name="TC")
    assert client.tag_ids_of_user(openid) == [tc.wechat_id]
    follower.refresh_from_db()
    assert follower.language == "zh_TW"
    assert _inbox_texts(platform, account, openid)[-1] == "謝謝！我們會用繁體中文回覆。"


def test_a_passive_auto_reply_wins_over_the_rule_reply(platform, live_server):
    brand = make_brand()
    account = connected_account(platform, live_server, brand=brand)
    _language_rules(brand)
    AutoReply.objects.create(brand=brand, kind="keyword", trigger="en",
                             body="Auto: we got your message.")
    openid = follow(platform, account)["openid"]
    said = say(platform, account, openid, "EN")
    assert said["push"]["reply"]["Content"] == "Auto: we got your message."
    # The rule's tag and language still apply; only its reply is left out.
    follower = Follower.objects.get(account=account, openid=openid)
    assert follower.language == "en"
    assert list(follower.tags.values_list("name", flat=True)) == ["EN"]
    outbound = Message.objects.filter(direction="out")
    assert [m.content for m in outbound] == ["Auto: we got your message."]
