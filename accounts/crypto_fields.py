"""Secrets encrypted at rest.

The column holds a Fernet token; the plaintext exists only in memory. FIELD_ENCRYPTION_KEY
may list several keys separated by commas: the first encrypts, every one decrypts, so a
rotation is "prepend the new key, run `manage.py rotate_encryption_key`, drop the old".
"""

from functools import lru_cache

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import models

PREFIX = "enc1:"


@lru_cache(maxsize=4)
def _fernet_for(keys: str) -> MultiFernet:
    try:
        return MultiFernet([Fernet(k.strip().encode()) for k in keys.split(",") if k.strip()])
    except (ValueError, TypeError) as exc:
        raise ImproperlyConfigured(
            "FIELD_ENCRYPTION_KEY must be one or more url-safe base64 32-byte Fernet keys"
        ) from exc


def fernet() -> MultiFernet:
    return _fernet_for(settings.FIELD_ENCRYPTION_KEY)


def encrypt_str(plaintext: str) -> str:
    return PREFIX + fernet().encrypt(plaintext.encode()).decode()


def decrypt_str(stored: str) -> str:
    if not stored.startswith(PREFIX):
        raise ValueError("value is not an encrypted secret")
    try:
        return fernet().decrypt(stored[len(PREFIX) :].encode()).decode()
    except InvalidToken as exc:
        raise ImproperlyConfigured(
            "a stored secret cannot be decrypted with FIELD_ENCRYPTION_KEY"
        ) from exc


def reencrypt_str(stored: str) -> str:
    return PREFIX + fernet().rotate(stored[len(PREFIX) :].encode()).decode()


def seal(plaintext: str) -> str:
    """``plaintext`` encrypted for a short stay outside the database (a cache entry, the
    session): the same keys as the columns, so a rotation covers it too."""
    return fernet().encrypt(plaintext.encode()).decode()


def unseal(sealed: object) -> str | None:
    """What ``seal`` made, or None when no configured key opens it (a retired key already
    dropped, a value from before encryption, garbage). The caller treats None as a miss."""
    if not isinstance(sealed, str):
        return None
    try:
        return fernet().decrypt(sealed.encode()).decode()
    except (InvalidToken, UnicodeError):
        return None


def invalid_fernet_keys(keys: str) -> list[int]:
    """Positions (from 1) of the comma-separated keys that are not Fernet keys; [] when the
    list is usable. An empty list of keys counts as one invalid key."""
    items = [k.strip() for k in keys.split(",") if k.strip()]
    if not items:
        return [1]
    bad = []
    for position, key in enumerate(items, start=1):
        try:
            Fernet(key.encode())
        except (ValueError, TypeError):
            bad.append(position)
    return bad


def mask_secret(value: str) -> str:
    """What the UI and API may show of a secret: enough to recognise it, never to use it."""
    if not value:
        return ""
    if len(value) <= 8:
        return "•" * 6
    return f"{value[:3]}…{value[-2:]}"


class EncryptedTextField(models.TextField):
    """A TextField whose database value is always ciphertext ('' stays '' for "unset")."""

    def from_db_value(self, value: str | None, expression, connection) -> str | None:  # noqa: ANN001
        if value in (None, ""):
            return value
        return decrypt_str(value)

    def get_prep_value(self, value: str | None) -> str | None:
        value = super().get_prep_value(value)
        if value in (None, ""):
            return value
        return encrypt_str(value)


def secrets_of(model: type[models.Model], *, through: str = "") -> tuple[str, ...]:
    """The names of ``model``'s encrypted fields, reached ``through`` a relation
    ("channel_account"): what a query that never uses them defers, since each row read
    costs a decryption per secret."""
    prefix = f"{through}__" if through else ""
    return tuple(f"{prefix}{field.name}" for field in model._meta.fields
                 if isinstance(field, EncryptedTextField))
