"""The whole role table through the API and the pages: every endpoint that writes, for every role,
for a signed-in user without a role, and for nobody signed in."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Group
from django.test import Client
from django.urls import resolve
from rest_framework.test import APIClient

from inspection.lib.roles import PERMISSIONS, ROLE_ORDER, ROLE_PERMISSIONS, role_needed
from inspection.permissions import PERMISSION_TABLE, PUBLIC, RolePermission, permission_required
from tests.platform.factories import ProductFactory, UserFactory
from tests.platform.roles_support import Endpoint, endpoints, write_endpoints

WRITES = write_endpoints()
WRITE_IDS = [f"{method} {endpoint.name}" for endpoint, method in WRITES]
PRINCIPALS = [*ROLE_ORDER, "no-role", "anonymous"]


def _client_for(principal: str, *, api: bool):
    client = APIClient() if api else Client()
    if principal == "anonymous":
        return client
    user = UserFactory(role="" if principal == "no-role" else principal)
    client.force_login(user)
    return client


def _allowed(principal: str, required: str) -> bool:
    if required == PUBLIC:
        return True
    if principal in ("anonymous", "no-role"):
        return False
    return required in ROLE_PERMISSIONS[principal]


def test_every_endpoint_that_writes_is_in_the_permission_table():
    missing = [
        f"{method} {endpoint.name} ({endpoint.route})"
        for endpoint, method in WRITES
        if permission_required(endpoint.name, method) is None
    ]
    assert missing == []


def test_the_table_names_only_endpoints_that_exist_and_permissions_that_exist():
    known = {(endpoint.name, method) for endpoint in endpoints() for method in endpoint.methods}
    assert [key for key in PERMISSION_TABLE if key not in known] == []
    assert [value for value in PERMISSION_TABLE.values() if value != PUBLIC and value not in PERMISSIONS] == []


def test_the_walk_finds_the_writes_of_both_api_views_and_pages():
    found = {(endpoint.name, method) for endpoint, method in WRITES}
    assert {
        ("product-list", "POST"),
        ("image-detail", "DELETE"),
        ("dataset-upload", "POST"),
        ("version-activate", "POST"),
    } <= found


@pytest.mark.django_db
@pytest.mark.parametrize("principal", PRINCIPALS)
@pytest.mark.parametrize(("endpoint", "method"), WRITES, ids=WRITE_IDS)
def test_each_role_may_write_exactly_where_the_table_says(endpoint: Endpoint, method: str, principal: str):
    required = permission_required(endpoint.name, method)
    client = _client_for(principal, api=endpoint.is_api)
    response = getattr(client, method.lower())(endpoint.path(), data={} if endpoint.is_api else None)
    if _allowed(principal, required):
        assert response.status_code not in (401, 403), response.content[:300]
        assert response.status_code < 500
    elif principal == "anonymous":
        # API: 401 with the way to authenticate; pages: off to the login form.
        assert response.status_code in ((401, 403) if endpoint.is_api else (302,))
    else:
        assert response.status_code == 403
        words = response.json()["detail"] if endpoint.is_api else response.content.decode()
        if principal == "no-role":
            assert "ask an administrator" in words.lower()
        else:
            assert f"{role_needed(required)} role" in words


@pytest.mark.django_db
@pytest.mark.parametrize("principal", ["operator", "no-role"])
def test_reading_needs_a_role_and_any_role_may_read(principal):
    product = ProductFactory()
    client = _client_for(principal, api=True)
    response = client.get(f"/api/products/{product.pk}/")
    page = _client_for(principal, api=False).get("/")
    if principal == "operator":
        assert response.status_code == 200 and page.status_code == 200
    else:
        assert response.status_code == 403 and "ask an administrator" in response.json()["detail"]
        assert page.status_code == 403 and "Ask an administrator for a role" in page.content.decode()


@pytest.mark.django_db
def test_a_write_missing_from_the_table_is_refused_even_to_a_superuser(monkeypatch):
    from inspection import permissions

    table = dict(permissions.PERMISSION_TABLE)
    del table[("product-list", "POST")]
    monkeypatch.setattr(permissions, "PERMISSION_TABLE", table)
    superuser = UserFactory(is_superuser=True, is_staff=True)
    client = APIClient()
    client.force_login(superuser)
    response = client.post("/api/products/", {"name": "Bracket"})
    assert response.status_code == 403
    assert "not in the permission table" in response.json()["detail"]


@pytest.mark.django_db
def test_the_migration_made_the_groups_the_roles_describe():
    for role in ROLE_ORDER:
        granted = set(Group.objects.get(name=role).permissions.values_list("codename", flat=True))
        assert granted == set(ROLE_PERMISSIONS[role]), role


def test_the_migrations_frozen_copy_of_the_roles_matches_the_code():
    from importlib import import_module

    migration = import_module("inspection.migrations.0006_roles_and_audit")
    assert migration.PERMISSIONS == PERMISSIONS
    assert {role: set(codenames) for role, codenames in migration.ROLES.items()} == {
        role: set(codenames) for role, codenames in ROLE_PERMISSIONS.items()
    }


def test_no_api_view_replaces_the_role_check_with_its_own_permission_classes():
    # The schema and its documentation page use drf-spectacular's SERVE_PERMISSIONS (signed in).
    own_checks = {"schema", "api-docs"}
    bypassing = []
    for endpoint in endpoints():
        if not endpoint.is_api or endpoint.name in own_checks:
            continue
        view_class = resolve(endpoint.path()).func.cls
        if RolePermission not in view_class.permission_classes:
            bypassing.append(endpoint.name)
    # The token endpoint lets anyone ask for a token: that is what signing in is.
    assert bypassing == ["api-token"]
