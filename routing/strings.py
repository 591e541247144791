"""The console script's strings, translated on the server and handed to it as JSON.

Placeholders use Python's named style (``%(n)s``) so translators see what they know."""

from django.utils.translation import gettext as _
from django.utils.translation import ngettext


def _waiting_unassigned(n: int) -> str:
    return ngettext("%(n)s conversation waiting in Unassigned",
                    "%(n)s conversations waiting in Unassigned", n)


def console_strings() -> dict[str, str | dict[str, str]]:
    return {
        "request_failed": _("The request failed. Try again."),
        "minutes": _("%(n)s min"),
        "hours_minutes": _("%(h)s h %(m)s min"),
        "other_account": _("another account"),
        "box_mine": _("Mine"),
        "box_unassigned": _("Unassigned"),
        "box_all": _("All my accounts"),
        "box_snoozed": _("Snoozed"),
        "order_waiting": _("Longest waiting first"),
        "order_snoozed": _("Coming back soonest first"),
        "back_at": _("back %(time)s"),
        "window_closing": _("%(time)s left to reply"),
        "window_closing_title": _("The 48-hour reply window closes soon"),
        # By plural category (Intl.PluralRules on the page): the forms of this language
        # for one and for many.
        "waiting_unassigned": {"one": _waiting_unassigned(1), "other": _waiting_unassigned(2)},
        "via": _("via %(account)s"),
        "customer_language": _("Customer's language"),
        "empty_box": _("Nothing here."),
        "waiting": _("Waiting for an answer"),
        "unassigned": _("unassigned"),
        "no_conversation": _("No conversation open"),
        "queued": _("queued"),
        "sending": _("sending"),
        "sent": _("sent"),
        "failed": _("failed"),
        "retry": _("Retry"),
        "retrying_at": _("trying again at %(time)s"),
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
        "image": _("Image"),
        "image_missing": _("Image (not stored)"),
        "image_chosen": _("Image: %(name)s (Ctrl+Enter sends)"),
        "image_type": _("Choose a JPEG, PNG or GIF image."),
        "image_size": _("An image may be at most 10 MB."),
        "note_no_image": _("A private note cannot carry an image: remove it or untick the note."),
        "moved_away": _("This conversation was transferred out of your queues."),
        "handed_to": _("Handed to %(place)s"),
        "handed_to_with_note": _("Handed to %(place)s, with your note"),
        "transfer_keep_account": _("Keep the current account"),
        "transfer_no_team": _("No team (the account's queue)"),
        "transfer_choose": _("Choose an account, a team or both."),
        "current": _("%(name)s (current)"),
        "live": _("Live"),
        # A message that is not a text, in a list preview or the thread (by its msg_type).
        "snippet_image": _("[image]"),
        "snippet_voice": _("[voice]"),
        "snippet_video": _("[video]"),
        "snippet_location": _("[location]"),
        "snippet_link": _("[link]"),
        "snippet_event": _("[event]"),
        "snippet_other": _("[message]"),
        "openid": _("The follower's openid on this account"),
        "copy": _("Copy"),
        "copied": _("Copied"),
        "connecting": _("Connecting…"),
        "reconnecting": _("Reconnecting…"),
    }
