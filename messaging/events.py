"""The payloads of messaging's domain events (`accounts.events`), one builder each.

Ingestion builds from the ids it already holds (it never re-reads a row to announce);
the services build from the model. Both end in the same functions, so a shape is written
once.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from accounts import events
from accounts.events import (
    ConversationFact,
    ConversationResolved,
    ConversationTransferred,
    ConversationUpdated,
    MessageCreated,
    MessageStatus,
)

if TYPE_CHECKING:
    from messaging.models import Conversation, Message


def message_created(*, brand_id: int, conversation_id: int, message_id: int,
                    account_id: int, direction: str) -> MessageCreated:
    return {
        "brand_id": brand_id,
        "conversation_id": conversation_id,
        "message_id": message_id,
        "account_id": account_id,
        "direction": direction,
    }


def message_created_for(message: Message) -> MessageCreated:
    return message_created(brand_id=message.brand_id, conversation_id=message.conversation_id,
                           message_id=message.pk, account_id=message.account_id,
                           direction=message.direction)


def message_status_for(message: Message) -> MessageStatus:
    return {
        "brand_id": message.brand_id,
        "conversation_id": message.conversation_id,
        "message_id": message.pk,
        "status": message.status,
        "errcode": message.errcode,
        "error_reason": message.error_reason,
    }


def conversation_fact(*, brand_id: int, conversation_id: int, account_id: int,
                      handling_account_id: int, assignee_id: int | None,
                      team_id: int | None, status: str) -> ConversationFact:
    return {
        "brand_id": brand_id,
        "conversation_id": conversation_id,
        "account_id": account_id,
        "handling_account_id": handling_account_id,
        "assignee_id": assignee_id,
        "team_id": team_id,
        "status": status,
    }


def conversation_fact_for(conversation: Conversation) -> ConversationFact:
    return conversation_fact(
        brand_id=conversation.brand_id, conversation_id=conversation.pk,
        account_id=conversation.channel_account_id,
        handling_account_id=conversation.handling_account_id,
        assignee_id=conversation.assignee_id, team_id=conversation.team_id,
        status=conversation.status,
    )


def conversation_transferred_for(
    conversation: Conversation, *, previous_handling_account_id: int,
    previous_team_id: int | None, previous_assignee_id: int | None,
    by_membership_id: int | None,
) -> ConversationTransferred:
    return {
        **conversation_fact_for(conversation),
        "previous_handling_account_id": previous_handling_account_id,
        "previous_team_id": previous_team_id,
        "previous_assignee_id": previous_assignee_id,
        "by_membership_id": by_membership_id,
    }


def conversation_resolved_for(conversation: Conversation, *, cause: str) -> ConversationResolved:
    return {**conversation_fact_for(conversation), "cause": cause}


def conversation_updated_for(conversation: Conversation, *, change: str) -> ConversationUpdated:
    return {**conversation_fact_for(conversation), "change": change}


# -- announcing (after commit, through the one registry) --------------------------------


def announce_message(message: Message) -> None:
    events.announce("message.created", message_created_for(message))


def announce_status(message: Message) -> None:
    events.announce("message.status", message_status_for(message))


def announce_conversation(name: str, conversation: Conversation) -> None:
    """Announce one of the plain conversation facts (opened, reopened, assigned,
    snoozed), whose payload is the conversation's place and holder."""
    events.announce(name, conversation_fact_for(conversation))
