"""Background work of transfers (`routing.transfers`): the answer-time sweep, and the
console's word to the people a transfer concerns."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Literal, TypedDict

from celery import shared_task
from django.utils import timezone

from routing.layers import LAYER_ERRORS

if TYPE_CHECKING:
    from routing.models import Transfer

logger = logging.getLogger(__name__)


class TransferEvent(TypedDict):
    """Server → console: a transfer this member sent (or gave up a conversation by) was
    answered: accepted, declined, not answered in time, overtaken. The screen re-reads
    `/api/v1/transfers/<id>/`. The receiving side needs no such word: the conversation's
    own `transferred` change reaches them, and their screen re-reads what waits for them."""

    type: Literal["transfer"]
    transfer_id: int
    conversation_id: int
    status: str
    at: str


@shared_task
def transfers_expire_task() -> int:
    """Settle the transfers nobody answered in time (beat: every minute)."""
    from routing.transfers import transfers_expire

    return transfers_expire()


def concerned(transfer: Transfer) -> list[int]:
    """Who hears that a transfer was answered: its sender and the agent who held the
    conversation before (nobody while it waits)."""
    if transfer.status == transfer.Status.PENDING:
        return []
    return sorted({pk for pk in (transfer.by_id, transfer.from_agent_id) if pk})


@shared_task
def transfer_push_task(transfer_id: int) -> int:
    """Tell the screens a transfer concerns that it was answered; answers how many
    members. A console that cannot be reached learns it when it next reloads."""
    from routing import realtime
    from routing.models import Transfer

    transfer = Transfer.objects.select_related("conversation").filter(pk=transfer_id).first()
    if transfer is None:
        return 0
    members = concerned(transfer)
    if not members:
        return 0
    event: TransferEvent = {
        "type": "transfer", "transfer_id": transfer.pk,
        "conversation_id": transfer.conversation_id, "status": transfer.status,
        "at": timezone.now().isoformat(),
    }
    try:
        realtime.send(transfer.brand_id, [{"to": members, "payload": dict(event)}])
    except LAYER_ERRORS as exc:
        logger.warning("transfer push could not reach the channel layer: %r", exc)
        return 0
    return len(members)
