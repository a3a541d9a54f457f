"""Settings come only from environment variables, and a bad value stops the process at start."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured

from config.env import (
    broker_from_env,
    database_from_env,
    env_bool,
    env_int,
    env_list,
    secret_key_from_env,
)

REPOSITORY = Path(__file__).resolve().parents[2]


def run_django(
    environment: dict, code: str = "from django.conf import settings; settings.DEBUG"
) -> subprocess.CompletedProcess:
    clean = {
        key: value
        for key, value in os.environ.items()
        if key not in ("DATABASE_URL", "REDIS_URL", "CELERY_BROKER_URL", "DEBUG")
    }
    return subprocess.run(
        [sys.executable, "-c", f"import django; django.setup(); {code}"],
        env={**clean, "PYTHONPATH": f"{REPOSITORY}{os.pathsep}{REPOSITORY / 'platform'}",
             "DJANGO_SETTINGS_MODULE": "config.settings", **environment},
        cwd=REPOSITORY,
        capture_output=True,
        text=True,
        timeout=120,
    )  # fmt: skip


@pytest.mark.parametrize("text, expected", [("true", True), ("YES", True), ("1", True), ("off", False), ("0", False)])
def test_boolean_variables_accept_the_usual_spellings(text, expected):
    assert env_bool("DEBUG", False, environ={"DEBUG": text}) is expected


def test_an_empty_variable_counts_as_unset():
    assert env_bool("DEBUG", True, environ={"DEBUG": ""}) is True
    assert env_int("UPLOAD_MAX_FILES", 7, environ={"UPLOAD_MAX_FILES": "  "}) == 7


def test_a_boolean_that_is_neither_true_nor_false_is_refused_naming_the_variable():
    with pytest.raises(ImproperlyConfigured, match="DEBUG='maybe'"):
        env_bool("DEBUG", False, environ={"DEBUG": "maybe"})


def test_numbers_must_be_whole_and_large_enough():
    with pytest.raises(ImproperlyConfigured, match="UPLOAD_MAX_FILES='lots'"):
        env_int("UPLOAD_MAX_FILES", 1, environ={"UPLOAD_MAX_FILES": "lots"})
    with pytest.raises(ImproperlyConfigured, match="JOB_HEARTBEAT_TIMEOUT=1 is too small"):
        env_int("JOB_HEARTBEAT_TIMEOUT", 300, minimum=10, environ={"JOB_HEARTBEAT_TIMEOUT": "1"})


def test_lists_are_comma_separated():
    assert env_list("ALLOWED_HOSTS", [], environ={"ALLOWED_HOSTS": "a.example, b.example,"}) == [
        "a.example",
        "b.example",
    ]


def test_with_no_database_url_the_database_is_sqlite_under_var(tmp_path):
    database = database_from_env(tmp_path / "db.sqlite3", environ={})
    assert database["ENGINE"] == "django.db.backends.sqlite3"
    assert database["NAME"] == str(tmp_path / "db.sqlite3")


def test_a_postgres_database_url_is_used_as_given():
    database = database_from_env(
        Path("unused"), environ={"DATABASE_URL": "postgres://inspector:secret@db:5432/inspection"}
    )
    assert (database["ENGINE"], database["HOST"], database["NAME"], database["USER"]) == (
        "django.db.backends.postgresql",
        "db",
        "inspection",
        "inspector",
    )


@pytest.mark.parametrize(
    "url", ["nonsense", "mysql://user@host/db", "postgres://user:pw@host:notaport/db", "postgres://host:5432"]
)
def test_an_unusable_database_url_is_refused_naming_the_variable(url):
    with pytest.raises(ImproperlyConfigured, match="DATABASE_URL"):
        database_from_env(Path("unused"), environ={"DATABASE_URL": url})


def test_with_no_broker_configured_messages_go_through_folders_under_var(tmp_path):
    url, options = broker_from_env(tmp_path, environ={})
    assert url.startswith("fsatomic://")
    assert Path(options["data_folder_in"]).is_relative_to(tmp_path / "broker")
    assert Path(options["data_folder_in"]).is_dir()


def test_redis_url_selects_redis_and_celery_broker_url_wins_over_it(tmp_path):
    assert broker_from_env(tmp_path, environ={"REDIS_URL": "redis://cache:6379/0"})[0] == "redis://cache:6379/0"
    url, _ = broker_from_env(
        tmp_path, environ={"REDIS_URL": "redis://cache:6379/0", "CELERY_BROKER_URL": "amqp://guest@rabbit//"}
    )
    assert url == "amqp://guest@rabbit//"


def test_an_unknown_broker_is_refused_naming_the_variable(tmp_path):
    with pytest.raises(ImproperlyConfigured, match="REDIS_URL='http://cache'"):
        broker_from_env(tmp_path, environ={"REDIS_URL": "http://cache"})


def test_without_secret_key_a_random_key_is_created_once_and_reused(tmp_path):
    first = secret_key_from_env(tmp_path, environ={})
    assert len(first) >= 32
    assert secret_key_from_env(tmp_path, environ={}) == first
    assert (tmp_path / "secret_key").stat().st_mode & 0o077 == 0


def test_a_short_secret_key_is_refused():
    with pytest.raises(ImproperlyConfigured, match="SECRET_KEY is too short"):
        secret_key_from_env(Path("unused"), environ={"SECRET_KEY": "short"})


def test_django_refuses_to_start_with_debug_maybe(tmp_path):
    result = run_django({"DEBUG": "maybe", "VAR_DIR": str(tmp_path)})
    assert result.returncode != 0
    assert "ImproperlyConfigured: DEBUG='maybe' is not a boolean" in result.stderr


def test_django_refuses_to_start_with_an_unparseable_database_url(tmp_path):
    result = run_django({"DATABASE_URL": "postgres://user:pw@host:port/db", "VAR_DIR": str(tmp_path)})
    assert result.returncode != 0
    assert "ImproperlyConfigured: DATABASE_URL" in result.stderr


def test_django_starts_with_nothing_configured_on_sqlite_and_the_folder_broker(tmp_path):
    result = run_django(
        {"VAR_DIR": str(tmp_path)},
        "from django.conf import settings; print(settings.DATABASES['default']['NAME'], settings.CELERY_BROKER_URL)",
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == [str(tmp_path / "db.sqlite3"), "fsatomic://localhost/"]


@pytest.mark.parametrize("value", ["soon", "0", "-5", "nan"])
def test_django_refuses_a_model_wait_that_is_not_a_positive_number_of_seconds(tmp_path, value):
    result = run_django({"MODEL_WAIT_SECONDS": value, "VAR_DIR": str(tmp_path)})
    assert result.returncode != 0
    assert "ImproperlyConfigured: MODEL_WAIT_SECONDS" in result.stderr


def test_the_web_server_settings_refuse_a_bad_thread_count(tmp_path):
    code = "import runpy; print(runpy.run_path('platform/config/gunicorn_conf.py')['threads'])"
    clean = {key: value for key, value in os.environ.items() if key != "WEB_THREADS"}
    environment = {**clean, "PYTHONPATH": f"{REPOSITORY}{os.pathsep}{REPOSITORY / 'platform'}"}
    good = subprocess.run([sys.executable, "-c", code], env=environment, cwd=REPOSITORY, capture_output=True, text=True)
    assert good.returncode == 0 and good.stdout.strip() == "32", good.stderr
    bad = subprocess.run(
        [sys.executable, "-c", code],
        env={**environment, "WEB_THREADS": "0"},
        cwd=REPOSITORY,
        capture_output=True,
        text=True,
    )
    assert bad.returncode != 0 and "WEB_THREADS=0 is too small" in bad.stderr
