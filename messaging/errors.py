"""Messaging's domain errors; the DRF handler maps them like every other DomainError."""

from django.utils.translation import gettext_lazy as _

from accounts.errors import DomainError


class ReplyRefused(DomainError):
    """The platform would refuse this send (window closed, quota spent, unfollowed), so it
    is refused before anything is stored or sent. `message` says why, plainly."""

    status_code = 409
    default_message = _("This reply cannot be sent now.")


class NoAssignee(DomainError):
    """The chosen member cannot take this conversation (does not serve its account): the
    request is well formed, the member's accounts and the conversation's disagree."""

    status_code = 409
    default_message = _("This member does not serve the conversation's account.")


class PreparedResponseMissing(DomainError):
    status_code = 400
    default_message = _("There is no prepared response with this key.")
