"""Domain errors raised by services; one DRF handler and one view helper map them."""


class DomainError(Exception):
    """Base for errors a user can act on. `message` is safe to show."""

    status_code = 400

    def __init__(self, message: str = "") -> None:
        super().__init__(message)
        self.message = message or self.__class__.__doc__ or ""


class NotInScope(DomainError):
    """Not found."""

    # "Missing" and "not yours" answer the same, so existence never leaks.
    status_code = 404


class RoleRequired(DomainError):
    """Your role does not allow this."""

    status_code = 403


class InvalidInput(DomainError):
    """The input is not valid."""

    status_code = 400


class Conflict(DomainError):
    """This conflicts with the current state."""

    status_code = 409
