"""The console script's strings, translated on the server and handed to it as JSON.

Placeholders use Python's named style (``%(n)s``) so translators see what they know."""

from django.utils.translation import gettext as _


def console_strings() -> dict[str, str]:
    return {
        "request_failed": _("The request failed. Try again."),
        "minutes": _("%(n)s min"),
        "hours_minutes": _("%(h)s h %(m)s min"),
        "other_account": _("another account"),
        "box_mine": _("Mine"),
        "box_unassigned": _("Unassigned"),
        "box_all": _("All my accounts"),
        "customer_language": _("Customer's language"),
        "empty_box": _("Nothing here."),
        "waiting": _("Waiting for an answer"),
        "unassigned": _("unassigned"),
        "no_conversation": _("No conversation open"),
        "queued": _("queued"),
        "sending": _("sending"),
        "sent": _("sent"),
        "failed": _("failed"),
        "private_note": _("private note"),
        "open_one": _("Open a conversation to see the customer."),
        "phone": _("Phone"),
        "email": _("Email"),
        "language": _("Language"),
        "identities": _("On each account"),
        "following": _("following"),
        "unfollowed": _("unfollowed"),
        "tags": _("Tags"),
        "qr_source": _("QR source"),
        "notes": _("Notes"),
        "attributes": _("Attributes"),
        "you": _("You"),
        "window_unknown": _("The reply window is unknown."),
        "window_open": _("Reply window: %(time)s left, %(n)s messages left"),
        "window_closed": _("Replies are closed: %(reason)s"),
        "no_prepared": _("No prepared response matches."),
        "prepared_chosen": _("Prepared response: %(title)s (Ctrl+Enter sends)"),
        "nothing_waiting": _("Nothing is waiting in your queues."),
        "live": _("Live"),
        "connecting": _("Connecting…"),
        "reconnecting": _("Reconnecting…"),
    }
