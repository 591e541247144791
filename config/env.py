"""Tiny typed readers for environment variables.

Every setting has a working default; a value that cannot be understood stops the
process at start-up instead of silently falling back (healthchecks does the same).
"""

import importlib.util
import json
import os

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


class ImproperlyConfiguredEnv(RuntimeError):
    pass


def env_str(name: str, default: str = "") -> str:
    return os.environ.get(name, default)


def env_bool(name: str, default: bool = False) -> bool:
    raw = os.environ.get(name)
    if raw is None:
        return default
    value = raw.strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise ImproperlyConfiguredEnv(f"{name}={raw!r} is not a boolean (use 1/0, true/false)")


def env_int(name: str, default: int) -> int:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        return int(raw)
    except ValueError as exc:
        raise ImproperlyConfiguredEnv(f"{name}={raw!r} is not an integer") from exc


def env_list(name: str, default: list[str]) -> list[str]:
    raw = os.environ.get(name)
    if raw is None:
        return default
    return [item.strip() for item in raw.split(",") if item.strip()]


def env_secret(name: str, default: str, *, required_when: bool = False) -> str:
    """A secret with a development default that production must override."""
    raw = os.environ.get(name)
    if raw:
        return raw
    if required_when:
        raise ImproperlyConfiguredEnv(
            f"{name} must be set when DEBUG is off (DEBUG is off unless set to 1, as "
            "`make demo` and the tests do)"
        )
    return default


def env_json(name: str, default: dict) -> dict:
    """A JSON object, e.g. a storage backend's OPTIONS. The value is not echoed in the
    error: it may hold credentials."""
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return dict(default)
    try:
        value = json.loads(raw)
    except ValueError as exc:
        raise ImproperlyConfiguredEnv(f"{name} is not valid JSON ({exc})") from exc
    if not isinstance(value, dict):
        raise ImproperlyConfiguredEnv(
            f"{name} must be a JSON object, not {type(value).__name__}"
        )
    return value


def env_import_path(name: str, default: str) -> str:
    """A dotted path to a class (``package.module.Class``) whose module is installed.

    Checked at start-up so that a typo or a missing extra stops the process, not the first
    upload. The module is located, not imported: settings stay free of side effects.
    """
    raw = os.environ.get(name, "").strip() or default
    module = raw.rpartition(".")[0]
    if not module or not all(part.isidentifier() for part in raw.split(".")):
        raise ImproperlyConfiguredEnv(f"{name}={raw!r} is not a dotted path (module.Class)")
    try:
        spec = importlib.util.find_spec(module)
    except (ImportError, ValueError):
        spec = None
    if spec is None:
        raise ImproperlyConfiguredEnv(f"{name}={raw!r}: module {module!r} is not installed")
    return raw
