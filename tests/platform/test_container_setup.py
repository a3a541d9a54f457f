"""Docker cannot run in every test environment, so the container setup is checked by reading it."""

import re
from pathlib import Path

import yaml

DOCKER = Path(__file__).resolve().parents[2] / "docker"


def compose() -> dict:
    return yaml.safe_load((DOCKER / "compose.yaml").read_text())


def test_compose_runs_web_worker_scheduler_postgresql_and_redis():
    services = compose()["services"]
    assert set(services) == {"web", "worker", "scheduler", "db", "redis"}
    assert services["db"]["image"].startswith("postgres:")
    assert services["redis"]["image"].startswith("redis:")
    assert services["worker"]["command"].startswith("celery -A config worker")
    assert services["scheduler"]["command"].startswith("celery -A config beat")


def test_the_worker_service_can_be_scaled():
    worker = compose()["services"]["worker"]
    # A fixed container name or published port would make `--scale worker=3` fail.
    assert "container_name" not in worker and "ports" not in worker


def test_web_and_workers_share_the_database_broker_and_media_volume():
    services = compose()["services"]
    for name in ("web", "worker", "scheduler"):
        environment = services[name]["environment"]
        assert re.match(r"postgres://inspection:.*@db:5432/inspection$", environment["DATABASE_URL"])
        assert environment["REDIS_URL"] == "redis://redis:6379/0"
        assert services[name]["volumes"] == ["data:/data"]


def test_the_image_contains_every_folder_the_settings_need_and_leaves_the_virtualenv_out():
    dockerfile = (DOCKER / "Dockerfile").read_text()
    for folder in ("platform", "inspection", "frontend"):
        assert f"COPY {folder} ./{folder}" in dockerfile
    assert "PYTHONPATH=/app:/app/platform" in dockerfile
    rules = [line for line in (DOCKER / "Dockerfile.dockerignore").read_text().splitlines() if line and line[0] != "#"]
    # Everything is left out first, then only the copied files are let back in.
    assert rules[0] == "*"
    assert not any(rule.startswith(("!.venv", "!var")) for rule in rules)
