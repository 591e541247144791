"""Two-factor: who must set it up before using anything else.

When a brand requires two-factor, a member without it reaches only the setup pages. Three
doors serve a signed-in member, and each asks `mfa_setup_required`: the pages (redirect to
the setup page), the session-authenticated REST API (403) and the console websocket
(refused at connect). Brand API keys are not members and never ask.
"""

from accounts.models import Brand, User


def user_has_totp(user: User) -> bool:
    from allauth.mfa.models import Authenticator

    return Authenticator.objects.filter(user=user, type=Authenticator.Type.TOTP).exists()


def mfa_setup_required(*, user: User, brand: Brand) -> bool:
    """True when ``brand`` requires two-factor and ``user`` has not set it up yet."""
    return brand.require_mfa and not user_has_totp(user)
