"""Sign-in protection (django-axes): repeated failures lock the web form and the token endpoint,
administrators see and lift the lock; a revoked station token is refused."""

from __future__ import annotations

import pytest
from auditlog.models import LogEntry
from django.test import Client
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from inspection.audit import SIGN_IN_FAILED
from tests.platform.factories import UserFactory

PASSWORD = "correct horse battery staple"
LIMIT = 3


@pytest.fixture(autouse=True)
def low_failure_limit(settings):
    settings.AXES_FAILURE_LIMIT = LIMIT


def _web_sign_in(client: Client, username: str, password: str):
    return client.post("/accounts/login/", {"username": username, "password": password})


def _token_sign_in(client: APIClient, username: str, password: str):
    return client.post("/api/auth/token/", {"username": username, "password": password}, format="json")


@pytest.mark.django_db
def test_the_web_form_locks_an_account_after_the_failure_limit_even_for_the_right_password():
    user = UserFactory(role="operator")
    client = Client()
    for _ in range(LIMIT - 1):
        assert _web_sign_in(client, user.username, "wrong").status_code == 200
    locked = _web_sign_in(client, user.username, "wrong")
    assert locked.status_code == 429
    assert "Too many failed sign-ins" in locked.content.decode()
    after = _web_sign_in(client, user.username, PASSWORD)
    assert after.status_code == 429
    assert "_auth_user_id" not in client.session


@pytest.mark.django_db
def test_the_token_endpoint_locks_an_account_after_the_failure_limit():
    user = UserFactory(role="operator")
    client = APIClient()
    for _ in range(LIMIT - 1):
        assert _token_sign_in(client, user.username, "wrong").status_code == 400
    assert _token_sign_in(client, user.username, "wrong").status_code == 429
    refused = _token_sign_in(client, user.username, PASSWORD)
    assert refused.status_code == 429
    assert not Token.objects.filter(user=user).exists()


@pytest.mark.django_db
def test_an_administrator_sees_the_lock_on_the_users_page_and_lifts_it():
    user = UserFactory(role="operator")
    api = APIClient()
    for _ in range(LIMIT):
        _token_sign_in(api, user.username, "wrong")
    administrator = Client()
    administrator.force_login(UserFactory(role="admin"))
    page = administrator.get("/users/").content.decode()
    row = page[page.index(f'data-username="{user.username}"') :]
    assert "locked" in row[: row.index("</tr>")]
    administrator.post("/users/unlock/", {"username": user.username})
    assert _token_sign_in(api, user.username, PASSWORD).status_code == 200


@pytest.mark.django_db
def test_each_failed_sign_in_is_in_the_audit_log_with_the_name_it_tried():
    user = UserFactory(role="operator")
    _web_sign_in(Client(), user.username, "wrong")
    _token_sign_in(APIClient(), "nobody-by-this-name", "wrong")
    failures = LogEntry.objects.filter(additional_data__event=SIGN_IN_FAILED).order_by("pk")
    assert [entry.additional_data["username"] for entry in failures] == [user.username, "nobody-by-this-name"]
    assert [entry.additional_data["path"] for entry in failures] == ["/accounts/login/", "/api/auth/token/"]


@pytest.mark.django_db
def test_a_revoked_station_token_is_refused():
    administrator = Client()
    administrator.force_login(UserFactory(role="admin"))
    page = administrator.post("/users/stations/", {"name": "line-3"}).content.decode()
    station = Token.objects.get(user__username="station-line-3")
    assert station.key in page
    line = APIClient()
    line.credentials(HTTP_AUTHORIZATION=f"Token {station.key}")
    assert line.get("/api/products/").status_code == 200
    # Operators inspect; they do not create products.
    assert line.post("/api/products/", {"name": "Bracket"}, format="json").status_code == 403
    administrator.post(f"/users/{station.user_id}/token/revoke/")
    assert line.get("/api/products/").status_code == 401
    assert station.key not in administrator.get("/users/").content.decode()
    token_changes = [
        entry.changes["api_token"]
        for entry in LogEntry.objects.filter(object_repr="station-line-3").order_by("pk")
        if "api_token" in entry.changes
    ]
    assert token_changes == [["none", "issued"], ["issued", "revoked"]]
    assert not LogEntry.objects.filter(changes__icontains=station.key).exists()
