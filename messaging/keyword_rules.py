"""Keyword tag rules on followers' text messages, in the worker.

A subscriber to `message.created` queues ``keyword_rules_task`` for each inbound text.
The task finds the first active rule (by position; the account's and the brand-wide ones
together) whose keyword matches, and applies it:
- its tags are added / removed (followers.tags: on WeChat within the account's budget);
- its language (zh_CN, zh_TW, en) becomes the follower's, the customer's and the open
  conversation's (routing reads ``Conversation.language``, and ``Follower.language`` as the
  profile language in ``routing.rules.facts_for``);
- its reply (the text for the language just set, or the follower's, else the single text)
  goes out as a customer-service message through ``messaging.services.message_reply``.

A passive auto-reply (messaging.auto_replies) is chosen during ingestion and answered in
the callback itself, before this task runs: when one answered the message, it wins and the
rule does not reply too (its tags and language still apply; logged). Behaviour rules on
messages (sent N messages in D days) are evaluated for the follower here as well.
"""

from __future__ import annotations

import logging
import time

from celery import shared_task
from django.db import transaction
from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver
from django.utils import timezone
from kombu.exceptions import OperationalError as BrokerError

from accounts import events
from accounts.errors import DomainError
from accounts.events import FollowerFact, MessageCreated
from accounts.models import Role
from accounts.scope import Scope
from followers.models import Customer, CustomerActivity, Follower, TagRule
from followers.tag_rules import (
    behaviour_rules_evaluate,
    follower_actions_apply,
    keyword_rule_first,
    reply_for,
)
from messaging.models import Conversation, Message
from messaging.prepared import normalize_language

logger = logging.getLogger(__name__)

KEYWORD_SENDER = "Keyword rule"
CACHE_SECONDS = 5.0
_has_rules: dict[int, tuple[float, bool]] = {}


def _passive_reply_answered(message: Message) -> bool:
    """Whether ingestion answered this message with a passive auto-reply (stored right
    after it, before the follower's next message)."""
    later = Message.objects.filter(conversation_id=message.conversation_id, pk__gt=message.pk)
    next_in = later.filter(direction=Message.Direction.INBOUND).order_by("pk").values_list(
        "pk", flat=True).first()
    passive = later.filter(direction=Message.Direction.OUTBOUND, payload__passive=True)
    if next_in is not None:
        passive = passive.filter(pk__lt=next_in)
    return passive.exists()


def _set_language(rule: TagRule, follower: Follower, conversation: Conversation) -> None:
    code = rule.set_language
    Follower.objects.filter(pk=follower.pk).update(language=code)
    follower.language = code
    if follower.customer_id:
        Customer.objects.filter(pk=follower.customer_id).update(language=code,
                                                                updated_at=timezone.now())
        CustomerActivity.objects.create(
            brand_id=follower.brand_id, customer_id=follower.customer_id, follower=follower,
            account_id=follower.account_id, kind=CustomerActivity.Kind.LANGUAGE,
            at=timezone.now(), data={"language": code, "rule": rule.pk})
    portal = normalize_language(code)
    if portal:
        Conversation.objects.filter(pk=conversation.pk).update(language=portal)


def keyword_rules_apply(*, message_id: int) -> dict:
    """Apply the first matching keyword rule to one inbound text; what was done."""
    from messaging.services import message_reply

    message = (Message.objects.select_related("conversation__follower", "conversation__brand")
               .filter(pk=message_id, direction=Message.Direction.INBOUND, msg_type="text")
               .first())
    if message is None:
        return {"rule": None}
    conversation = message.conversation
    follower = conversation.follower
    rule = keyword_rule_first(brand_id=message.brand_id, account_id=message.account_id,
                              text=message.content)
    if rule is None:
        return {"rule": None}
    done: dict = {"rule": rule.pk, "replied": False}
    with transaction.atomic():
        done.update(follower_actions_apply(rule=rule, follower_ids=[follower.pk]))
        if rule.set_language:
            _set_language(rule, follower, conversation)
            done["language"] = rule.set_language
    text = reply_for(rule, rule.set_language or follower.language)
    if text and _passive_reply_answered(message):
        logger.info("keyword rule reply skipped: a passive auto-reply answered",
                    extra={"rule_id": rule.pk, "message_id": message.pk})
        done["skipped_reply"] = "auto_reply"
    elif text:
        scope = Scope(brand=conversation.brand, role=Role.OWNER)
        try:
            with transaction.atomic():
                reply = message_reply(scope=scope, conversation=conversation, text=text,
                                      by=None)
                Message.objects.filter(pk=reply.pk).update(
                    payload={**reply.payload, "tag_rule": rule.pk},
                    sender_display=KEYWORD_SENDER)
            done["replied"] = reply.pk
        except DomainError as exc:
            # The reply window is closed or the follower left: the rule's tags stand.
            logger.warning("keyword rule reply refused", extra={
                "rule_id": rule.pk, "message_id": message.pk, "reason": exc.message})
            done["refused"] = exc.message
    logger.info("keyword rule applied", extra={"rule_id": rule.pk, "message_id": message.pk})
    return done


@shared_task(acks_late=True)
def keyword_rules_task(message_id: int) -> dict:
    done = keyword_rules_apply(message_id=message_id)
    msg = Message.objects.filter(pk=message_id).values_list("brand_id",
                                                            "conversation__follower_id").first()
    if msg is not None:
        behaviour_rules_evaluate(brand_id=msg[0], follower_ids=[msg[1]],
                                 behaviours=[TagRule.Behaviour.MESSAGES])
    return done


def _enqueue(task, *args: object) -> None:  # noqa: ANN001
    try:
        task.apply_async(args, retry=False)
    except (BrokerError, OSError) as exc:
        # Tags from rules are also re-evaluated by the periodic behaviour task; a keyword
        # rule missed here is logged, not retried.
        logger.warning("could not queue tag rules", extra={"task": task.name,
                                                            "error": str(exc)})


def _brand_has_rules(brand_id: int) -> bool:
    # Asked after every inbound message: kept in this process for a few seconds, like the
    # auto-replies (a new rule acts within CACHE_SECONDS everywhere).
    now = time.monotonic()
    hit = _has_rules.get(brand_id)
    if hit is not None and hit[0] > now:
        return hit[1]
    found = TagRule.objects.filter(brand_id=brand_id, is_active=True).exists()
    _has_rules[brand_id] = (now + CACHE_SECONDS, found)
    return found


@receiver([post_save, post_delete], sender=TagRule)
def _forget_cached_rules(**_kwargs: object) -> None:
    _has_rules.clear()


def on_message_created(name: str, payload: MessageCreated) -> None:
    if payload["direction"] != Message.Direction.INBOUND:
        return
    if not _brand_has_rules(payload["brand_id"]):
        return
    _enqueue(keyword_rules_task, payload["message_id"])


def on_follower_subscribed(name: str, payload: FollowerFact) -> None:
    from followers.tasks_tags import behaviour_rules_followers_task

    if not TagRule.objects.filter(brand_id=payload["brand_id"], kind=TagRule.Kind.BEHAVIOUR,
                                  is_active=True).exists():
        return
    _enqueue(behaviour_rules_followers_task, [payload["follower_id"]],
             [TagRule.Behaviour.CAMPAIGN, TagRule.Behaviour.MULTI_ACCOUNT])


def subscribe() -> None:
    from messaging import keyword_behaviour

    keyword_behaviour.register()
    events.subscribe("message.created", on_message_created)
    events.subscribe("follower.subscribed", on_follower_subscribed)
