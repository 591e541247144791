"""A conversation's preview: its last message's type, snippet and time.

The server names the type and gives the text only for a text message; the console labels
the others ("[image]", "[voice]", ...) in the screen's language. The list reads every
conversation's preview in its own query, as one subquery per row (`with_last_message`),
and the live `message` event carries the same two fields (`routing.realtime`).
"""

from datetime import UTC

from django.db.models import OuterRef, QuerySet, Subquery
from django.db.models.functions import JSONObject, Left
from django.utils.dateparse import parse_datetime

from messaging.models import Message

SNIPPET_CHARS = 80
# What the list reads of a message's text: enough for a snippet once runs of spaces and
# line breaks are folded.
_READ_CHARS = SNIPPET_CHARS * 4


def snippet(*, msg_type: str, content: str, cut: bool = False) -> str:
    """A text message's first words on one line, at most SNIPPET_CHARS; "" for any other
    type (the client names it). `cut`: the content given is already a prefix."""
    if msg_type != "text":
        return ""
    text = " ".join((content or "").split())
    if len(text) > SNIPPET_CHARS:
        return text[: SNIPPET_CHARS - 1] + "…"
    return text + "…" if cut and text else text


def with_last_message(qs: QuerySet) -> QuerySet:
    """Conversations annotated with `last_message`: their newest message that is not a
    private note, as {msg_type, content (a prefix), direction, at}, or None. One subquery
    per row, evaluated for the rows the page returns."""
    newest = (
        Message.objects.filter(conversation_id=OuterRef("pk"))
        .exclude(direction=Message.Direction.NOTE)
        .order_by("-created_at", "-pk")
        .values(data=JSONObject(
            msg_type="msg_type", content=Left("content", _READ_CHARS + 1),
            direction="direction", at="created_at",
        ))[:1]
    )
    return qs.annotate(last_message=Subquery(newest))


def _moment(value: object) -> str | None:
    """The database's text for a time inside JSON, as ISO 8601 in UTC."""
    if not value:
        return None
    moment = parse_datetime(str(value).replace(" ", "T", 1))
    if moment is None:
        return None
    if moment.tzinfo is None:  # SQLite keeps UTC without an offset
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).isoformat()


def last_message_preview(data: object) -> dict | None:
    """The API's `last_message` from the annotation: {msg_type, snippet, direction, at}."""
    if not isinstance(data, dict):
        return None
    content = str(data.get("content") or "")
    msg_type = str(data.get("msg_type") or "")
    return {
        "msg_type": msg_type,
        "snippet": snippet(msg_type=msg_type, content=content[:_READ_CHARS],
                           cut=len(content) > _READ_CHARS),
        "direction": str(data.get("direction") or ""),
        "at": _moment(data.get("at")),
    }

