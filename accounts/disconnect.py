"""Disconnecting an official account: the portal stops acting for it, its history stays.

Two roads lead here. A member disconnects the account from its page
(``account_disconnect_by_member``); or, for an account connected by authorization, WeChat
says the authorization is gone (``accounts.platform.account_disconnect``). Both mark the
row and remove what lets the portal act for the account, through
``account_mark_disconnected``: the AppSecret of a direct connection, the refresh token and
bundles of an authorized one, and in both cases the cached access token. Conversations,
messages and followers are not touched.

Connecting again undoes the mark: a new AppSecret saved for a direct account
(``accounts.services.account_update``), a new authorization for an authorized one.
"""

import logging

from django.core.exceptions import ImproperlyConfigured
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.errors import NotInScope
from accounts.models import OfficialAccount, User
from accounts.scope import Scope
from accounts.wechat_clients import token_provider_for

logger = logging.getLogger(__name__)


def account_mark_disconnected(*, account: OfficialAccount, reason: str) -> None:
    """Record the disconnection and drop the account's credentials and cached token.

    The caller holds the account row FOR UPDATE, inside a transaction, and has checked
    that it is not disconnected yet.
    """
    account.disconnected_at = timezone.now()
    account.disconnect_reason = str(reason)[:255]
    fields = ["disconnected_at", "disconnect_reason", "updated_at"]
    if account.connection == OfficialAccount.Connection.PLATFORM:
        account.authorizer_refresh_token = ""
        account.granted_bundles = []
        fields += ["authorizer_refresh_token", "granted_bundles"]
    else:
        # Without it nothing can fetch a token for the account again.
        account.app_secret = ""
        fields.append("app_secret")
    account.save(update_fields=fields)
    try:
        provider = token_provider_for(account)
    except ImproperlyConfigured:
        # No platform is configured any more: nothing renews or reads authorizer tokens.
        logger.warning("no platform to drop the cached token of", extra={"account_id": account.pk})
        return
    provider.invalidate(account.appid)


def account_disconnect_by_member(
    *, scope: Scope, account: OfficialAccount, by: User
) -> OfficialAccount:
    """Disconnect an account of the scope's brand; needs ``accounts.manage``.

    Idempotent: an account already disconnected (by a member or by WeChat) is returned as
    it is, its first reason kept.
    """
    scope.require("accounts.manage")
    if account.brand_id != scope.brand_id:
        raise NotInScope()
    with transaction.atomic():
        account = OfficialAccount.objects.select_for_update().get(pk=account.pk)
        if account.disconnected_at is not None:
            return account
        reason = _("Disconnected by %(name)s on the portal") % {"name": by.get_full_name()}
        account_mark_disconnected(account=account, reason=reason)
    logger.warning(
        "account disconnected by a member",
        extra={"brand_id": account.brand_id, "account_id": account.pk, "user_id": by.pk},
    )
    return account
