"""Domain errors raised by services; one DRF handler and one view helper map them."""

from django.utils.translation import gettext_lazy as _


class DomainError(Exception):
    """Base for errors a user can act on. `message` is safe to show."""

    status_code = 400
    default_message = _("This cannot be done.")

    def __init__(self, message: str = "", *, fields: dict[str, list[str]] | None = None) -> None:
        super().__init__(message)
        self.message = str(message or self.default_message)
        # The input fields the error is about, each with its messages, so a form can show
        # every one beside its field; empty when the error is about the request as a whole.
        self.fields = fields or {}


class NotInScope(DomainError):
    # "Missing" and "not yours" answer the same, so existence never leaks.
    status_code = 404
    default_message = _("Not found.")


class RoleRequired(DomainError):
    status_code = 403
    default_message = _("Your role does not allow this.")


class InvalidInput(DomainError):
    status_code = 400
    default_message = _("The input is not valid.")


class Conflict(DomainError):
    status_code = 409
    default_message = _("This conflicts with the current state.")
