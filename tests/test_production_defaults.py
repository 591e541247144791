"""Safe production defaults: DEBUG is off unless asked for, production refuses a mail
backend that does not send (it would print invitation and reset links into the logs), and
the system checks refuse an unusable FIELD_ENCRYPTION_KEY and the published development
keys whenever DEBUG is off and under `check --deploy`."""

import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from cryptography.fernet import Fernet
from django.conf import settings
from django.core import checks
from django.core.management import CommandError, call_command

# serial: a parametrize id holds a Fernet key made at import, different in each xdist
# worker, and xdist refuses workers that collected different tests.
pytestmark = pytest.mark.serial

ROOT = Path(__file__).resolve().parent.parent
PRODUCTION = {
    "DEBUG": "0",
    "SECRET_KEY": "production-" + uuid.uuid4().hex * 2,
    "FIELD_ENCRYPTION_KEY": Fernet.generate_key().decode(),
    "ALLOWED_HOSTS": "portal.example.com",
    "EMAIL_BACKEND": "django.core.mail.backends.smtp.EmailBackend",
}


def _manage(*args: str, **env: str | None) -> subprocess.CompletedProcess:
    """manage.py in a fresh process, on production settings changed by ``env`` (None
    removes a variable)."""
    merged = {**os.environ, **PRODUCTION, **env}
    for name in ("DJANGO_SETTINGS_MODULE", *(k for k, v in env.items() if v is None)):
        merged.pop(name, None)
    return subprocess.run(  # noqa: S603
        [sys.executable, "manage.py", *args],
        cwd=ROOT, env={k: v for k, v in merged.items() if v is not None},
        capture_output=True, text=True, timeout=120,
    )


def _ids(deploy: bool) -> set[str]:
    found = checks.run_checks(tags=[checks.Tags.security], include_deployment_checks=deploy)
    return {message.id for message in found if message.id.startswith("accounts.")}


# --- DEBUG -----------------------------------------------------------------------------


def test_debug_is_off_when_the_environment_does_not_say():
    result = _manage("shell", "-c", "from django.conf import settings; print(settings.DEBUG)",
                     DEBUG=None)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == "False"


def test_without_debug_and_without_keys_the_process_refuses_to_start():
    result = _manage("check", DEBUG=None, SECRET_KEY=None, FIELD_ENCRYPTION_KEY=None)
    assert result.returncode != 0
    assert "SECRET_KEY must be set when DEBUG is off" in result.stderr


def test_run_demo_refuses_to_serve_with_debug_off(settings):
    settings.DEBUG = False
    with pytest.raises(CommandError, match="DEBUG=1"):
        call_command("run_demo", "--port", "1")


# --- mail ------------------------------------------------------------------------------


@pytest.mark.parametrize("backend", [None, "django.core.mail.backends.console.EmailBackend",
                                     "django.core.mail.backends.filebased.EmailBackend",
                                     "django.core.mail.backends.locmem.EmailBackend",
                                     "django.core.mail.backends.dummy.EmailBackend"])
def test_production_refuses_a_mail_backend_that_does_not_send(backend):
    result = _manage("check", EMAIL_BACKEND=backend)
    assert result.returncode != 0
    assert "EMAIL_BACKEND must send mail when DEBUG is off" in result.stderr
    assert "django.core.mail.backends.smtp.EmailBackend" in result.stderr


# --- the key checks, end to end --------------------------------------------------------


def test_check_deploy_fails_on_an_invalid_field_encryption_key():
    result = _manage("check", "--deploy", FIELD_ENCRYPTION_KEY="x")
    assert result.returncode != 0
    assert "accounts.E001" in result.stderr and "not a Fernet key" in result.stderr


def test_check_deploy_fails_on_the_published_development_keys():
    # DEBUG on, as a box that runs on the defaults would be: nothing set but DEBUG.
    result = _manage("check", "--deploy", DEBUG="1", SECRET_KEY=None, FIELD_ENCRYPTION_KEY=None)
    assert result.returncode != 0
    assert "accounts.E002" in result.stderr and "accounts.E003" in result.stderr


def test_with_debug_off_even_a_plain_check_fails_on_the_development_keys():
    result = _manage("check", SECRET_KEY=settings.DEVELOPMENT_SECRET_KEY,
                     FIELD_ENCRYPTION_KEY=settings.DEVELOPMENT_FIELD_ENCRYPTION_KEY)
    assert result.returncode != 0
    assert "accounts.E002" in result.stderr and "accounts.E003" in result.stderr


# --- the key checks, each case ---------------------------------------------------------


@pytest.mark.parametrize("keys", ["x", "", " , ", f"{Fernet.generate_key().decode()},nope"])
def test_an_unusable_field_encryption_key_is_an_error(settings, keys):
    settings.DEBUG = True
    settings.FIELD_ENCRYPTION_KEY = keys
    assert _ids(deploy=False) == {"accounts.E001"}


def test_good_keys_of_our_own_pass_both_with_and_without_deploy(settings):
    settings.SECRET_KEY = "production-" + uuid.uuid4().hex * 2
    settings.FIELD_ENCRYPTION_KEY = ",".join(Fernet.generate_key().decode() for _ in range(2))
    for debug in (True, False):
        settings.DEBUG = debug
        assert _ids(deploy=True) == set()


def test_the_development_keys_pass_the_demo_and_fail_deploy_and_debug_off(settings):
    settings.SECRET_KEY = settings.DEVELOPMENT_SECRET_KEY
    settings.FIELD_ENCRYPTION_KEY = settings.DEVELOPMENT_FIELD_ENCRYPTION_KEY
    settings.DEBUG = True
    assert _ids(deploy=False) == set()  # the demo runs on them
    assert _ids(deploy=True) == {"accounts.E002", "accounts.E003"}
    settings.DEBUG = False
    assert _ids(deploy=False) == {"accounts.E002", "accounts.E003"}
    assert _ids(deploy=True) == {"accounts.E002", "accounts.E003"}  # said once, not twice
    found = checks.run_checks(tags=[checks.Tags.security], include_deployment_checks=True)
    assert [m.id for m in found].count("accounts.E002") == 1


def test_a_development_key_kept_only_to_decrypt_is_a_warning(settings):
    # Mid-rotation: a new key encrypts, the development key still opens old rows.
    settings.DEBUG = False
    settings.SECRET_KEY = "production-" + uuid.uuid4().hex * 2
    settings.FIELD_ENCRYPTION_KEY = (
        f"{Fernet.generate_key().decode()},{settings.DEVELOPMENT_FIELD_ENCRYPTION_KEY}"
    )
    found = [m for m in checks.run_checks(tags=[checks.Tags.security])
             if m.id.startswith("accounts.")]
    assert [(m.id, m.level) for m in found] == [("accounts.W004", checks.WARNING)]
