"""Media storage comes from the environment: MEDIA_STORAGE_BACKEND (a storage class) and
MEDIA_STORAGE_OPTIONS (its options, a JSON object), with the local filesystem under
MEDIA_ROOT as the default. A value that cannot be understood stops the process at start-up,
with a message that names the variable and never echoes the options (they may hold keys)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
# Loads the settings the way every process does, then asks Django for the storage it built.
PROBE = (
    "import json, django; django.setup(); "
    "from django.conf import settings; from django.core.files.storage import storages; "
    "s = storages['default']; "
    "print(json.dumps({'default': settings.STORAGES['default'], "
    "'class': type(s).__module__ + '.' + type(s).__name__, "
    "'base_url': s.base_url, 'media_root': str(settings.MEDIA_ROOT)}))"
)


def _start(**env: str) -> subprocess.CompletedProcess:
    clean = {k: v for k, v in os.environ.items()
             if not k.startswith(("MEDIA_STORAGE_", "MEDIA_ROOT"))}
    return subprocess.run(  # noqa: S603
        [sys.executable, "-c", PROBE], cwd=ROOT, capture_output=True, text=True, timeout=60,
        env={**clean, "DJANGO_SETTINGS_MODULE": "config.settings", **env},
    )


def test_the_default_is_the_local_filesystem_under_media_root() -> None:
    started = _start()
    assert started.returncode == 0, started.stderr
    probe = json.loads(started.stdout)
    assert probe["default"] == {"BACKEND": "django.core.files.storage.FileSystemStorage",
                                "OPTIONS": {}}
    assert probe["class"] == "django.core.files.storage.filesystem.FileSystemStorage"
    assert probe["media_root"] == str(ROOT / "media")


def test_the_backend_and_its_options_come_from_the_environment(tmp_path: Path) -> None:
    started = _start(MEDIA_STORAGE_BACKEND="django.core.files.storage.InMemoryStorage",
                     MEDIA_STORAGE_OPTIONS='{"base_url": "/shared-media/"}',
                     MEDIA_ROOT=str(tmp_path))
    assert started.returncode == 0, started.stderr
    probe = json.loads(started.stdout)
    assert probe["class"] == "django.core.files.storage.memory.InMemoryStorage"
    assert probe["base_url"] == "/shared-media/"
    assert probe["media_root"] == str(tmp_path)


@pytest.mark.parametrize(("env", "error"), [
    ({"MEDIA_STORAGE_BACKEND": "s3"},
     "MEDIA_STORAGE_BACKEND='s3' is not a dotted path (module.Class)"),
    ({"MEDIA_STORAGE_BACKEND": "storages backends.S3Storage"},
     "is not a dotted path (module.Class)"),
    ({"MEDIA_STORAGE_BACKEND": "nowhere.backends.Storage"},
     "MEDIA_STORAGE_BACKEND='nowhere.backends.Storage': module 'nowhere.backends' is not "
     "installed"),
    ({"MEDIA_STORAGE_OPTIONS": '{"bucket_name": "media", "secret_key": "hunter2",'},
     "MEDIA_STORAGE_OPTIONS is not valid JSON"),
    ({"MEDIA_STORAGE_OPTIONS": '["media", "hunter2"]'},
     "MEDIA_STORAGE_OPTIONS must be a JSON object, not list"),
])
def test_nonsense_stops_the_process_at_start_up(env: dict[str, str], error: str) -> None:
    started = _start(**env)
    assert started.returncode != 0
    assert error in started.stderr
    assert "ImproperlyConfiguredEnv" in started.stderr
    # Nothing started (no settings were printed) and no secret reached the output.
    assert started.stdout == ""
    assert "hunter2" not in started.stderr
