"""The tests talk to the real parts: PostgreSQL, Redis, the Redis channel layer."""

import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from cryptography.fernet import Fernet
from django.conf import settings
from django.core.cache import cache
from django.db import connection

ROOT = Path(__file__).resolve().parent.parent
REAL_SERVICES = bool(os.environ.get("DATABASE_URL")) and bool(os.environ.get("REDIS_URL"))


@pytest.mark.django_db
def test_the_database_is_the_one_database_url_names():
    url = os.environ.get("DATABASE_URL", "")
    expected = "postgresql" if url.startswith("postgres") else "sqlite"
    assert connection.vendor == expected
    if REAL_SERVICES:
        assert connection.vendor == "postgresql"


def test_the_cache_round_trips_through_the_configured_backend():
    key = f"probe-{uuid.uuid4()}"
    cache.set(key, {"n": 1}, 30)
    assert cache.get(key) == {"n": 1}
    if REAL_SERVICES:
        assert "RedisCache" in settings.CACHES["default"]["BACKEND"]
        import redis

        raw = redis.Redis.from_url(os.environ["REDIS_URL"])
        assert any(k.decode().endswith(key) for k in raw.keys(f"*{key}"))


def test_check_deploy_is_clean_with_production_settings():
    env = {
        **os.environ,
        "DEBUG": "0",
        "SECRET_KEY": "a" * 20 + "-production-secret-" + uuid.uuid4().hex * 2,
        # A key of its own: the system checks refuse an invalid one and the development one.
        "FIELD_ENCRYPTION_KEY": Fernet.generate_key().decode(),
        "ALLOWED_HOSTS": "portal.example.com",
        # Production refuses to start on a backend that does not send mail.
        "EMAIL_BACKEND": "django.core.mail.backends.smtp.EmailBackend",
    }
    env.pop("DJANGO_SETTINGS_MODULE", None)
    result = subprocess.run(  # noqa: S603
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_production_refuses_to_start_with_the_development_secret_key():
    env = {**os.environ, "DEBUG": "0", "ALLOWED_HOSTS": "portal.example.com"}
    env.pop("SECRET_KEY", None)
    result = subprocess.run(  # noqa: S603
        [sys.executable, "manage.py", "check"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=120,
    )
    assert result.returncode != 0
    assert "SECRET_KEY must be set" in result.stderr


@pytest.mark.parametrize("lock", ["requirements.lock", "requirements-test.lock"])
def test_the_locks_name_no_folder_of_the_machine_they_were_made_on(lock: str) -> None:
    text = (Path(__file__).resolve().parent.parent / lock).read_text()
    options = [line for line in text.splitlines() if line.startswith("-")]
    assert options == []  # no --find-links, --index-url or --extra-index-url
    assert "file://" not in text and "/opt/" not in text


def test_the_product_lock_pins_no_test_tool() -> None:
    root = Path(__file__).resolve().parent.parent
    pinned = {line.split("==")[0] for line in (root / "requirements.lock").read_text().splitlines()
              if "==" in line and not line.startswith(" ")}
    # daphne too: only channels.testing imports it, so it is a test tool here.
    assert not pinned & {"pytest", "playwright", "schemathesis", "daphne", "hypothesis", "ruff"}
    assert {"django", "celery", "pillow", "xmltodict"} <= pinned


def test_the_test_lock_runs_the_product_on_the_product_s_pins() -> None:
    root = Path(__file__).resolve().parent.parent

    def pins(name: str) -> dict[str, str]:
        lines = (root / name).read_text().splitlines()
        return dict(line.split("==", 1) for line in lines if "==" in line and line[0] != " ")

    product, test = pins("requirements.lock"), pins("requirements-test.lock")
    assert {name: test.get(name) for name in product} == product
