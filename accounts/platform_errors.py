"""Plain, translatable explanations of the platform errors an admin can fix.

`wechat.errors` carries an English sentence for every errcode; the portal shows these
translated ones for the errors that need a person, with what to do about them.
"""

from django.utils.translation import gettext_lazy as _

from wechat.errors import ERRORS

EXPLANATIONS: dict[int, tuple[str, str]] = {
    -1: (_("WeChat was busy."), _("Nothing to do: the portal retries on its own.")),
    40001: (
        _("WeChat refused the AppSecret or the access token."),
        _("Check the AppSecret in the account settings; if it was reset in the WeChat "
          "admin, paste the new one here."),
    ),
    40013: (
        _("WeChat does not know this AppID."),
        _("Check the AppID under Settings > Basic configuration in the WeChat admin."),
    ),
    40125: (
        _("The AppSecret is not valid."),
        _("Reset the AppSecret in the WeChat admin and paste the new one here."),
    ),
    40164: (
        _("The portal's server IP is not on the account's IP allow-list."),
        _("Add the portal's outbound IP under Settings > Basic configuration > IP "
          "allow-list in the WeChat admin."),
    ),
    45009: (
        _("The daily call limit of a WeChat API is used up."),
        _("Wait until midnight (Beijing time), or reset the quota in the WeChat admin "
          "(10 resets a month)."),
    ),
    48001: (
        _("The account has not granted this permission to the portal."),
        _("Authorize the portal again and keep the permission ticked."),
    ),
    61023: (
        _("The account's authorization is no longer valid."),
        _("Ask the account's administrator to authorize the portal again."),
    ),
    89503: (
        _("WeChat asks the account's administrator to confirm calls from this IP."),
        _("The administrator confirms it in the WeChat app; then test the connection again."),
    ),
}


def explain(errcode: int | None, errmsg: str = "") -> tuple[str, str]:
    """(what happened, what to do) for an errcode, never empty."""
    if errcode is None:
        return "", ""
    if errcode in EXPLANATIONS:
        what, fix = EXPLANATIONS[errcode]
        return str(what), str(fix)
    known = ERRORS.get(errcode)
    what = known[1] if known else (errmsg or _("WeChat error %(code)s") % {"code": errcode})
    return str(what), ""
