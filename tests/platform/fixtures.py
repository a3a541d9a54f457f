"""Fixtures for the platform and browser tests: private storage and broker, users, API clients, a real worker.

The two session-wide ones (``platform_runtime``, ``celery_worker``) are
registered once, in tests/conftest.py, so that platform and browser tests share
one broker and one worker process; the others are registered by
tests/platform/conftest.py and tests/browser/conftest.py.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote

import pytest
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from config.celery import app as celery_app
from config.env import broker_from_env
from inspection.models import Job
from tests.platform.factories import UserFactory

REPOSITORY = Path(__file__).resolve().parents[2]


@dataclass
class Runtime:
    """Folders and broker settings private to this test session, shared with the worker process."""

    root: Path
    media: Path
    broker_environment: dict = field(default_factory=dict)


def platform_runtime_session(tmp_path_factory):
    root = tmp_path_factory.mktemp("runtime")
    media = root / "media"
    media.mkdir()
    configured = os.environ.get("CELERY_BROKER_URL") or os.environ.get("REDIS_URL")
    if configured and not configured.startswith("filesystem"):
        # The real server, but keys of our own: another test run or a running
        # installation on the same Redis never sees these messages.
        environment = {"CELERY_BROKER_URL": configured, "BROKER_KEY_PREFIX": f"test-{uuid.uuid4().hex[:12]}:"}
    else:
        environment = {"CELERY_BROKER_URL": f"filesystem://{root / 'broker'}"}
    url, options = broker_from_env(root, environ=environment)
    _use_broker(url, options)
    yield Runtime(root=root, media=media, broker_environment=environment)
    if "BROKER_KEY_PREFIX" in environment:
        import redis

        server = redis.Redis.from_url(url)
        leftovers = list(server.scan_iter(f"{environment['BROKER_KEY_PREFIX']}*"))
        if leftovers:
            server.delete(*leftovers)


def _use_broker(url: str, options: dict) -> None:
    celery_app.conf.broker_url = url
    celery_app.conf.broker_transport_options = options
    if celery_app._pool is not None:
        celery_app._pool.force_close_all()
    # Connections made with the old settings must not be reused.
    celery_app._after_fork()


@pytest.fixture(autouse=True)
def platform_test_settings(settings, platform_runtime):
    settings.MEDIA_ROOT = str(platform_runtime.media)
    settings.VAR_DIR = platform_runtime.root / "var"
    settings.MODEL_CACHE_DIR = platform_runtime.root / "model-cache"
    # Real password hashing takes a noticeable fraction of a second per user.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    yield settings
    # Models loaded by this process belong to this test's database rows.
    from inspection.services.bundles import bundle_forget

    bundle_forget()


@pytest.fixture
def private_media(platform_test_settings) -> Path:
    return Path(platform_test_settings.MEDIA_ROOT)


@pytest.fixture
def user(db):
    return UserFactory()


def client_for(user) -> APIClient:
    """A client that signs in as `user` the way scripts do: with an API token."""
    client = APIClient()
    token, _ = Token.objects.get_or_create(user=user)
    client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
    return client


@pytest.fixture
def api_client(user) -> APIClient:
    """A client that signs in the way scripts do: with an API token."""
    return client_for(user)


@pytest.fixture
def signed_in(client, user):
    """The test client with a signed-in browser session, as the pages see a person."""
    client.force_login(user)
    return client


@pytest.fixture
def anonymous_client() -> APIClient:
    return APIClient()


def _database_url_for_worker() -> str:
    from django.db import connection

    database = connection.settings_dict
    if database["ENGINE"].endswith("sqlite3"):
        return f"sqlite:///{Path(database['NAME']).resolve()}"
    credentials = quote(database["USER"] or "", safe="")
    if database["PASSWORD"]:
        credentials += ":" + quote(database["PASSWORD"], safe="")
    host = database["HOST"] or "localhost"
    port = f":{database['PORT']}" if database["PORT"] else ""
    return f"postgres://{credentials}@{host}{port}/{database['NAME']}"


@dataclass
class WorkerProcess:
    process: subprocess.Popen
    log: Path

    def log_tail(self, lines: int = 40) -> str:
        return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])


def start_worker(platform_runtime, django_db_blocker, *, name: str) -> WorkerProcess:
    """Start a real `celery -A config worker` process on this session's broker, test database and media."""
    log = platform_runtime.root / f"{name}.log"
    with django_db_blocker.unblock():
        database_url = _database_url_for_worker()
    environment = {
        **os.environ,
        **platform_runtime.broker_environment,
        "DATABASE_URL": database_url,
        "MEDIA_ROOT": str(platform_runtime.media),
        "VAR_DIR": str(platform_runtime.root / f"{name}-var"),
        "PYTHONPATH": os.pathsep.join([str(REPOSITORY), str(REPOSITORY / "platform")]),
        "DJANGO_SETTINGS_MODULE": "config.settings",
    }
    command = [
        sys.executable, "-m", "celery", "-A", "config", "worker",
        "--pool=prefork", "--concurrency=1", "--loglevel=INFO",
        "--without-gossip", "--without-mingle", "--without-heartbeat",
        "--hostname", f"{name}-{uuid.uuid4().hex[:8]}@%h",
    ]  # fmt: skip
    with log.open("wb") as output:
        process = subprocess.Popen(
            command, cwd=REPOSITORY, env=environment, stdout=output, stderr=subprocess.STDOUT, start_new_session=True
        )
    worker = WorkerProcess(process=process, log=log)
    deadline = time.monotonic() + 90
    while " ready." not in log.read_text(errors="replace"):
        if process.poll() is not None or time.monotonic() > deadline:
            os.killpg(process.pid, signal.SIGKILL)
            pytest.fail(f"the Celery worker {name} did not start:\n{worker.log_tail()}")
        time.sleep(0.2)
    return worker


def stop_worker(worker: WorkerProcess) -> None:
    worker.process.terminate()
    try:
        worker.process.wait(timeout=3)
    except subprocess.TimeoutExpired:
        # Every test is done; a warm shutdown would only wait for the broker's
        # polling loop. The worker runs in its own process group, children too.
        os.killpg(worker.process.pid, signal.SIGKILL)
        worker.process.wait()


def celery_worker_session(django_db_blocker, platform_runtime):
    """A real worker process for the session (registered as the `celery_worker` fixture in tests/conftest.py).

    Tests that use it need `transactional_db`, so that what they write is
    committed and visible to the worker.
    """
    worker = start_worker(platform_runtime, django_db_blocker, name="worker")
    yield worker
    stop_worker(worker)


def wait_for_job(job_id: int, *, worker: WorkerProcess | None = None, timeout: float = 60, until=None) -> Job:
    """Poll the job until `until(job)` is true (default: finished); fail with the worker's log otherwise."""
    until = until or (lambda job: job.is_finished)
    deadline = time.monotonic() + timeout
    while True:
        job = Job.objects.get(pk=job_id)
        if until(job):
            return job
        if time.monotonic() > deadline:
            tail = worker.log_tail() if worker else ""
            pytest.fail(f"job {job_id} is {job.status} at {job.progress}% after {timeout}s\n{tail}")
        time.sleep(0.05)


def queries_of(function) -> int:
    """How many database queries calling `function` runs."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as captured:
        function()
    return len(captured)
