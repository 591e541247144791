"""The WeChat callback endpoint.

GET answers the platform's URL verification. POST receives messages and events: it
authenticates, decrypts and parses the push (``messaging.callback``), stores it in one
transaction (``messaging.ingest``) and answers ``success`` or a passive reply, well inside
the platform's 5 s. A push we refuse gets a 4xx with a short reason and a log line, and
nothing is stored; a database outage gets a 503 so the platform tries again.
"""

import logging
import time
from datetime import timedelta
from urllib.parse import parse_qsl

from django.db import DatabaseError, InterfaceError, OperationalError
from django.http import HttpRequest, HttpResponse, HttpResponseNotFound
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from accounts.models import OfficialAccount
from messaging.callback import (
    OpenedPush,
    PushRefused,
    callback_account,
    push_body,
    push_open,
    url_verification_echo,
)
from messaging.ingest import inbound_ingest
from wechat import messages as wx

logger = logging.getLogger(__name__)

# last_callback_at feeds the health panel; a minute's precision is plenty and saves an
# UPDATE on nearly every delivery.
LAST_CALLBACK_PRECISION = timedelta(minutes=1)


@csrf_exempt
@require_http_methods(["GET", "POST"])
def callback(request: HttpRequest, appid: str) -> HttpResponse:
    if request.method == "POST":
        return _receive(request, appid)
    # dangerously unscoped by nature: the platform, not a member, is calling.
    account = OfficialAccount.objects.filter(appid=appid, is_active=True).first()
    if account is None:
        logger.warning("callback for unknown appid", extra={"appid": appid[:64]})
        return HttpResponseNotFound("unknown appid")
    params = {k: request.GET.get(k, "") for k in ("signature", "timestamp", "nonce", "echostr")}
    try:
        echostr = url_verification_echo(account=account, query=params)
    except PushRefused as refused:
        logger.warning("callback verification refused: %s", refused.reason,
                       extra={"appid": appid, "reason": refused.reason})
        return _text(refused.status, refused.reason)
    logger.info("callback url verified", extra={"appid": appid})
    return HttpResponse(echostr, content_type="text/plain")


def _text(status: int, body: str) -> HttpResponse:
    return HttpResponse(body, status=status, content_type="text/plain; charset=utf-8")


def _refuse(appid: str, refused: PushRefused, request: HttpRequest) -> HttpResponse:
    logger.warning(
        "callback refused",
        extra={
            "appid": appid[:64],
            "reason": refused.reason,
            "status": refused.status,
            "remote_addr": request.META.get("REMOTE_ADDR", ""),
        },
    )
    return _text(refused.status, refused.reason)


def _reply(opened: OpenedPush, text: str | None) -> HttpResponse:
    if not text:
        return _text(200, wx.SUCCESS)
    now = int(time.time())
    reply = wx.TextReply.answering(opened.message, create_time=now, content=text)
    if opened.crypto is None:
        body = reply.render(opened.data_format)
    else:
        # Encrypted with the key that decrypted the push (it may be the previous one).
        body = reply.render_encrypted(opened.crypto, timestamp=str(now), nonce=opened.nonce,
                                      data_format=opened.data_format)
    ctype = "application/json" if opened.data_format == "json" else "application/xml"
    return HttpResponse(body, content_type=f"{ctype}; charset=utf-8")


def _touch(account: OfficialAccount) -> None:
    now = timezone.now()
    last = account.last_callback_at
    # The connection test's callback gives way to the first real push at once.
    if (last is not None and now - last < LAST_CALLBACK_PRECISION
            and not account.last_callback_was_test):
        return
    # The cached account remembers it too, so this process skips the next minute's UPDATEs.
    account.last_callback_at = now
    try:
        OfficialAccount.objects.filter(pk=account.pk).update(last_callback_at=now)
    except DatabaseError:
        logger.warning("could not record the callback time", extra={"account_id": account.pk})


_PUSH_PARAMS = frozenset({"signature", "timestamp", "nonce", "encrypt_type", "msg_signature"})


def _push_query(request: HttpRequest) -> dict[str, str]:
    """The push's signature parameters ("" when absent). Read from the query string
    directly: building ``request.GET`` costs a callback more than its signature check."""
    query = dict.fromkeys(_PUSH_PARAMS, "")
    for key, value in parse_qsl(request.META.get("QUERY_STRING", ""), keep_blank_values=True):
        if key in _PUSH_PARAMS:
            query[key] = value
    return query


def _receive(request: HttpRequest, appid: str) -> HttpResponse:
    try:
        body = push_body(request)
    except PushRefused as refused:
        return _refuse(appid, refused, request)
    try:
        account = callback_account(appid)
        if account is None:
            return _refuse(appid, PushRefused(404, "unknown appid"), request)
        query = _push_query(request)
        try:
            opened = push_open(account=account, query=query, body=body)
        except PushRefused as refused:
            return _refuse(appid, refused, request)
        ingested = inbound_ingest(account=account, message=opened.message)
    except (OperationalError, InterfaceError) as exc:
        # A non-2xx answer makes the platform deliver it again; had the transaction
        # committed after all, the retry is absorbed as a duplicate. Nothing is lost.
        logger.error("callback failed: database unavailable",
                     extra={"appid": appid[:64], "error": str(exc)[:200]})
        return _text(503, "temporarily unavailable")
    _touch(account)
    if ingested.duplicate:
        logger.info("duplicate delivery absorbed",
                    extra={"appid": appid, "dedupe_key": opened.message.dedupe_key[:255],
                           "replayed_reply": bool(ingested.reply_text)})
    return _reply(opened, ingested.reply_text)
