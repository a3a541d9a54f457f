"""Read settings from environment variables and refuse bad values at start.

Every reader names the variable in its error, so a typo in a deployment shows
up as one clear line when the process starts instead of as odd behaviour later.
An empty variable counts as unset: compose files write `${NAME:-}` for
optional values.
"""

from __future__ import annotations

import json
import math
import os
import secrets
from pathlib import Path
from urllib.parse import urlsplit

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}

SUPPORTED_DATABASE_SCHEMES = {"sqlite", "postgres", "postgresql", "pgsql"}
SUPPORTED_BROKER_SCHEMES = {"filesystem", "redis", "rediss", "amqp", "pyamqp", "memory"}


def _raw(name: str, environ=None) -> str | None:
    value = (environ if environ is not None else os.environ).get(name)
    if value is None or value.strip() == "":
        return None
    return value.strip()


def env_str(name: str, default: str, *, environ=None) -> str:
    value = _raw(name, environ)
    return default if value is None else value


def env_bool(name: str, default: bool, *, environ=None) -> bool:
    value = _raw(name, environ)
    if value is None:
        return default
    lowered = value.lower()
    if lowered in _TRUE:
        return True
    if lowered in _FALSE:
        return False
    raise ImproperlyConfigured(f"{name}={value!r} is not a boolean; use one of true/false, yes/no, on/off, 1/0.")


def env_int(name: str, default: int, *, minimum: int | None = None, environ=None) -> int:
    value = _raw(name, environ)
    if value is None:
        return default
    try:
        number = int(value)
    except ValueError:
        raise ImproperlyConfigured(f"{name}={value!r} is not a whole number.") from None
    if minimum is not None and number < minimum:
        raise ImproperlyConfigured(f"{name}={number} is too small; it must be at least {minimum}.")
    return number


def env_choice(name: str, default: str, choices: list[str], *, environ=None) -> str:
    value = _raw(name, environ)
    if value is None:
        return default
    if value.upper() not in choices:
        raise ImproperlyConfigured(f"{name}={value!r} is not one of {', '.join(choices)}.")
    return value.upper()


def env_list(name: str, default: list[str], *, environ=None) -> list[str]:
    value = _raw(name, environ)
    if value is None:
        return list(default)
    return [item.strip() for item in value.split(",") if item.strip()]


def env_path(name: str, default: Path, *, environ=None) -> Path:
    value = _raw(name, environ)
    return default if value is None else Path(value).expanduser().resolve()


def env_json_object(name: str, default: dict, *, environ=None) -> dict:
    """A JSON object, e.g. MEDIA_STORAGE_OPTIONS='{"bucket_name": "parts"}'."""
    value = _raw(name, environ)
    if value is None:
        return dict(default)
    try:
        parsed = json.loads(value)
    except json.JSONDecodeError as error:
        raise ImproperlyConfigured(f"{name} is not valid JSON: {error}.") from None
    if not isinstance(parsed, dict):
        raise ImproperlyConfigured(f'{name} must be a JSON object such as {{"key": "value"}}.')
    return parsed


def database_from_env(default_sqlite_path: Path, *, environ=None) -> dict:
    """DATABASE_URL parsed into Django's format; SQLite under var/ when unset."""
    url = _raw("DATABASE_URL", environ)
    if url is None:
        url = f"sqlite:///{default_sqlite_path}"
    scheme = url.split("://", 1)[0].lower() if "://" in url else ""
    if scheme not in SUPPORTED_DATABASE_SCHEMES:
        raise ImproperlyConfigured(
            f"DATABASE_URL={url!r} is not understood: expected postgres://USER:PASSWORD@HOST:PORT/NAME "
            "or sqlite:////absolute/path.sqlite3."
        )
    try:
        database = dj_database_url.parse(
            url, conn_max_age=env_int("DATABASE_CONN_MAX_AGE", 60, minimum=0, environ=environ)
        )
    except Exception as error:  # the parser raises several unrelated types
        raise ImproperlyConfigured(f"DATABASE_URL cannot be parsed: {error}") from None
    if not database.get("NAME"):
        raise ImproperlyConfigured(f"DATABASE_URL={url!r} names no database.")
    if database["ENGINE"].endswith("sqlite3"):
        # Web server and worker share one SQLite file: WAL lets readers continue
        # during a write, and IMMEDIATE transactions take the write lock up front
        # so two writers queue instead of failing with "database is locked".
        database["CONN_MAX_AGE"] = 0
        database["OPTIONS"] = {
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
            "transaction_mode": "IMMEDIATE",
            "timeout": 30,
        }
    return database


def broker_from_env(var_dir: Path, *, environ=None) -> tuple[str, dict]:
    """The Celery broker URL and transport options.

    CELERY_BROKER_URL wins over REDIS_URL. With neither, messages go through
    folders under var/broker (kombu's filesystem transport), so a real worker
    process runs without any server. `filesystem:///some/folder` picks the folder.
    """
    url = _raw("CELERY_BROKER_URL", environ) or _raw("REDIS_URL", environ)
    name = "CELERY_BROKER_URL" if _raw("CELERY_BROKER_URL", environ) else "REDIS_URL"
    if url is None:
        url, name = "filesystem://", "CELERY_BROKER_URL"
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme not in SUPPORTED_BROKER_SCHEMES:
        raise ImproperlyConfigured(
            f"{name}={url!r} is not a supported broker: use redis://HOST:PORT/DB, amqp://... "
            "or filesystem:// (the default, no server needed)."
        )
    if scheme == "filesystem":
        folder = Path(parts.path).resolve() if parts.path not in ("", "/") else var_dir / "broker"
        # Served by config.broker's atomic variant of kombu's filesystem transport.
        return "fsatomic://localhost/", filesystem_broker_options(folder)
    if scheme in {"redis", "rediss"}:
        try:
            parts.port  # noqa: B018 - raises ValueError on a non-numeric port
        except ValueError:
            raise ImproperlyConfigured(f"{name}={url!r} has an invalid port.") from None
        options = {
            # A message that is not acknowledged within this time is handed to
            # another worker; it must exceed the longest job, or jobs run twice.
            "visibility_timeout": env_int("CELERY_VISIBILITY_TIMEOUT", 12 * 3600, minimum=60, environ=environ),
        }
        prefix = _raw("BROKER_KEY_PREFIX", environ)
        if prefix:
            options["global_keyprefix"] = prefix
        return url, options
    return url, {}


def filesystem_broker_options(folder: Path) -> dict:
    queue_folder = folder / "queue"
    control_folder = folder / "control"
    for path in (queue_folder, control_folder):
        path.mkdir(parents=True, exist_ok=True)
    return {
        "data_folder_in": str(queue_folder),
        "data_folder_out": str(queue_folder),
        "control_folder": str(control_folder),
        "store_processed": False,
        # The transport polls its folder; a short interval keeps jobs snappy.
        "polling_interval": 0.2,
    }


def secret_key_from_env(var_dir: Path, *, environ=None) -> str:
    """SECRET_KEY, or a random key kept in var/secret_key so sessions survive restarts."""
    value = _raw("SECRET_KEY", environ)
    if value is not None:
        if len(value) < 32:
            raise ImproperlyConfigured("SECRET_KEY is too short; use at least 32 random characters.")
        return value
    key_file = var_dir / "secret_key"
    if not key_file.exists():
        var_dir.mkdir(parents=True, exist_ok=True)
        draft = var_dir / f".secret_key.{os.getpid()}"
        draft.write_text(secrets.token_urlsafe(50))
        draft.chmod(0o600)
        try:
            # A hard link appears complete or not at all, and fails if the file
            # exists: when web and worker start together both read the same key.
            os.link(draft, key_file)
        except FileExistsError:
            pass
        finally:
            draft.unlink()
    key = key_file.read_text().strip()
    if len(key) < 32:
        raise ImproperlyConfigured(f"{key_file} holds no usable secret key; delete it to make a new one.")
    return key


def env_float(name: str, default: float, *, minimum: float | None = None, environ=None) -> float:
    value = _raw(name, environ)
    if value is None:
        return default
    try:
        number = float(value)
    except ValueError:
        raise ImproperlyConfigured(f"{name}={value!r} is not a number.") from None
    if not math.isfinite(number) or (minimum is not None and number < minimum):
        raise ImproperlyConfigured(f"{name}={value} must be a finite number of at least {minimum}.")
    return number
