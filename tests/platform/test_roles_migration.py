"""Upgrading an installation: migration 0010 gives existing accounts a role and leaves superusers alone."""

from __future__ import annotations

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

BEFORE = [("inspection", "0005_annotations_pixel_evaluation")]


@pytest.mark.django_db(transaction=True)
def test_existing_users_become_engineers_and_superusers_stay_superusers():
    executor = MigrationExecutor(connection)
    executor.migrate(BEFORE)
    old_apps = executor.loader.project_state(BEFORE).apps
    User = old_apps.get_model("auth", "User")
    User.objects.create(username="line-lead", password="!")
    User.objects.create(username="plant-admin", password="!", is_superuser=True, is_staff=True)

    executor = MigrationExecutor(connection)
    # Forward to the newest state, whatever migrations come after 0010 by then.
    latest = executor.loader.graph.leaf_nodes()
    executor.migrate(latest)
    new_apps = executor.loader.project_state(latest).apps
    User = new_apps.get_model("auth", "User")
    assert list(User.objects.get(username="line-lead").groups.values_list("name", flat=True)) == ["engineer"]
    plant_admin = User.objects.get(username="plant-admin")
    assert plant_admin.is_superuser and not plant_admin.groups.exists()
    Group = new_apps.get_model("auth", "Group")
    assert set(Group.objects.values_list("name", flat=True)) >= {"operator", "reviewer", "engineer", "admin"}
