"""Fixtures shared by every test folder. Engine tests use none of them and need no database."""

from __future__ import annotations

import os

import pytest


@pytest.fixture(scope="session")
def django_db_modify_db_settings(django_db_modify_db_settings_parallel_suffix, tmp_path_factory):
    """Give this test run a database that other processes can open and nobody else uses.

    SQLite: a file instead of Django's in-memory test database, which a worker
    process could not see. PostgreSQL: a name ending in this process's id, so
    two test runs against one server do not drop each other's database.
    """
    from django.conf import settings

    database = settings.DATABASES["default"]
    test_settings = database.setdefault("TEST", {})
    if database["ENGINE"].endswith("sqlite3"):
        test_settings["NAME"] = str(tmp_path_factory.mktemp("database") / "test.sqlite3")
    else:
        test_settings["NAME"] = f"test_{database['NAME']}_{os.getpid()}"


# One broker and one worker process for the whole session, shared by the
# platform and browser tests: the runtime points the Celery app at its broker,
# so a second runtime would send the first one's jobs where no worker listens.
@pytest.fixture(scope="session")
def platform_runtime(tmp_path_factory):
    from tests.platform.fixtures import platform_runtime_session

    yield from platform_runtime_session(tmp_path_factory)


@pytest.fixture(scope="session")
def celery_worker(django_db_setup, django_db_blocker, platform_runtime):
    from tests.platform.fixtures import celery_worker_session

    yield from celery_worker_session(django_db_blocker, platform_runtime)
