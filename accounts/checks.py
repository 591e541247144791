"""System checks on the keys: an unusable FIELD_ENCRYPTION_KEY, and the published
development keys where they must not be (DEBUG off, or `check --deploy`).

Django runs system checks before `migrate` and most commands, so a release step refuses
to go on with them; gunicorn does not run checks, hence `check --deploy` in the release.
"""

from typing import Any

from django.conf import settings
from django.core import checks

from accounts.crypto_fields import invalid_fernet_keys

_GENERATE = (
    "Generate one with: python -c \"from cryptography.fernet import Fernet; "
    'print(Fernet.generate_key().decode())"'
)


@checks.register(checks.Tags.security)
def field_encryption_key_check(app_configs: Any, **kwargs: Any) -> list[checks.CheckMessage]:
    bad = invalid_fernet_keys(settings.FIELD_ENCRYPTION_KEY)
    if not bad:
        return []
    positions = ", ".join(str(p) for p in bad)
    return [
        checks.Error(
            f"FIELD_ENCRYPTION_KEY is not usable: key {positions} of the comma-separated list "
            "is not a Fernet key (32 url-safe base64-encoded bytes).",
            hint=_GENERATE,
            id="accounts.E001",
        )
    ]


def _development_keys() -> list[checks.CheckMessage]:
    found: list[checks.CheckMessage] = []
    if settings.SECRET_KEY == settings.DEVELOPMENT_SECRET_KEY:
        found.append(
            checks.Error(
                "SECRET_KEY is the published development key.",
                hint="Set SECRET_KEY to a long random value of this installation's own.",
                id="accounts.E002",
            )
        )
    keys = [k.strip() for k in settings.FIELD_ENCRYPTION_KEY.split(",") if k.strip()]
    development = settings.DEVELOPMENT_FIELD_ENCRYPTION_KEY
    if keys[:1] == [development]:
        found.append(
            checks.Error(
                "FIELD_ENCRYPTION_KEY encrypts with the published development key.",
                hint=_GENERATE + " and put it first.",
                id="accounts.E003",
            )
        )
    elif development in keys:
        # Listed after the first key it only decrypts: a rotation away from it in progress.
        found.append(
            checks.Warning(
                "FIELD_ENCRYPTION_KEY still lists the published development key.",
                hint="Run `manage.py rotate_encryption_key`, then drop it from the list.",
                id="accounts.W004",
            )
        )
    return found


@checks.register(checks.Tags.security)
def development_keys_check(app_configs: Any, **kwargs: Any) -> list[checks.CheckMessage]:
    """Whenever DEBUG is off: production on the published keys is no production."""
    return [] if settings.DEBUG else _development_keys()


@checks.register(checks.Tags.security, deploy=True)
def development_keys_deploy_check(
    app_configs: Any, **kwargs: Any
) -> list[checks.CheckMessage]:
    """`check --deploy` with DEBUG on (with it off, the check above has spoken)."""
    return _development_keys() if settings.DEBUG else []
