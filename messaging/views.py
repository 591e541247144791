"""The WeChat callback endpoint.

GET answers the platform's URL verification. (Message ingestion over POST is the
next piece of work: until it lands, POST is refused with 405 so the platform keeps
its copy and nothing is acknowledged that was not stored.)
"""

import logging

from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest, HttpResponseNotFound
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET

from accounts.models import OfficialAccount
from wechat import crypto

logger = logging.getLogger(__name__)


def _valid_tokens(account: OfficialAccount) -> list[str]:
    tokens = [account.token]
    grace = account.previous_secrets_valid_until
    if account.previous_token and grace and grace > timezone.now():
        tokens.append(account.previous_token)
    return [t for t in tokens if t]


@csrf_exempt
@require_GET
def callback(request: HttpRequest, appid: str) -> HttpResponse:
    # dangerously unscoped by nature: the platform, not a member, is calling.
    account = OfficialAccount.objects.filter(appid=appid, is_active=True).first()
    if account is None:
        logger.warning("callback for unknown appid", extra={"appid": appid[:64]})
        return HttpResponseNotFound("unknown appid")
    params = {k: request.GET.get(k, "") for k in ("signature", "timestamp", "nonce", "echostr")}
    if not all(params.values()):
        logger.warning("callback verification without parameters", extra={"appid": appid})
        return HttpResponseBadRequest("missing signature parameters")
    for token in _valid_tokens(account):
        try:
            crypto.check_url_signature(
                token, params["timestamp"], params["nonce"], params["signature"]
            )
        except crypto.InvalidSignature:
            continue
        logger.info("callback url verified", extra={"appid": appid})
        return HttpResponse(params["echostr"], content_type="text/plain")
    logger.warning("callback verification with a bad signature", extra={"appid": appid})
    return HttpResponse("invalid signature", status=403, content_type="text/plain")
