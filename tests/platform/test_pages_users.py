"""The administrator's Users page: users, roles, deactivation, passwords and station tokens shown once."""

from __future__ import annotations

import re

import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from rest_framework.authtoken.models import Token

from inspection.selectors.accounts import user_role
from tests.platform.factories import UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def administrator():
    return UserFactory(role="admin")


@pytest.fixture
def page(administrator) -> Client:
    client = Client()
    client.force_login(administrator)
    return client


def signs_in(username: str, password: str) -> bool:
    """Through the login form, as a person would (django-axes wants the request)."""
    client = Client()
    client.post("/accounts/login/", {"username": username, "password": password})
    return "_auth_user_id" in client.session


def shown_secret(html: str) -> str:
    return re.search(r'<code class="secret-value">([^<]+)</code>', html).group(1)


def test_a_created_user_gets_the_role_and_a_password_shown_once_that_signs_in(page):
    created = page.post("/users/", {"username": "ines", "role": "reviewer"})
    assert created.status_code == 200
    password = shown_secret(created.content.decode())
    ines = get_user_model().objects.get(username="ines")
    assert user_role(ines) == "reviewer"
    assert signs_in("ines", password)
    assert password not in page.get("/users/").content.decode()


def test_a_duplicate_or_reserved_name_is_refused_with_the_reason(page):
    UserFactory(username="ines")
    assert (
        "already a user named ines" in page.post("/users/", {"username": "ines", "role": "operator"}).content.decode()
    )
    refused = page.post("/users/", {"username": "station-7", "role": "operator"})
    assert refused.status_code == 400 and "kept for station accounts" in refused.content.decode()


def test_setting_the_role_replaces_the_old_one_and_no_role_takes_it_away(page):
    worker = UserFactory(role="operator")
    page.post(f"/users/{worker.pk}/role/", {"role": "engineer"})
    assert user_role(worker) == "engineer" and worker.groups.count() == 1
    page.post(f"/users/{worker.pk}/role/", {"role": ""})
    assert user_role(worker) is None


def test_an_administrator_cannot_demote_or_deactivate_themselves(page, administrator):
    page.post(f"/users/{administrator.pk}/role/", {"role": "operator"})
    page.post(f"/users/{administrator.pk}/active/", {"active": "0"})
    administrator.refresh_from_db()
    assert user_role(administrator) == "admin" and administrator.is_active


def test_a_deactivated_user_can_no_longer_sign_in_nor_use_a_token(page):
    worker = UserFactory(role="operator")
    token = Token.objects.create(user=worker)
    page.post(f"/users/{worker.pk}/active/", {"active": "0"})
    assert not signs_in(worker.username, "correct horse battery staple")
    assert not Token.objects.filter(key=token.key).exists()


def test_a_reset_password_replaces_the_old_one_and_is_shown_once(page):
    worker = UserFactory(role="operator")
    reset = page.post(f"/users/{worker.pk}/password/")
    password = shown_secret(reset.content.decode())
    assert not signs_in(worker.username, "correct horse battery staple")
    assert signs_in(worker.username, password)


def test_a_station_is_an_operator_with_a_token_and_no_password(page):
    created = page.post("/users/stations/", {"name": "line-2"})
    token = shown_secret(created.content.decode())
    station = get_user_model().objects.get(username="station-line-2")
    assert user_role(station) == "operator" and not station.has_usable_password()
    assert Token.objects.get(user=station).key == token
    renewed = shown_secret(page.post(f"/users/{station.pk}/password/").content.decode())
    assert renewed != token and Token.objects.get(user=station).key == renewed


def test_only_administrators_open_the_users_page():
    engineer = Client()
    engineer.force_login(UserFactory(role="engineer"))
    refused = engineer.get("/users/")
    assert refused.status_code == 403 and "admin role" in refused.content.decode()
