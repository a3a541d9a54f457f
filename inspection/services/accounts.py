"""Accounts managed in the app: users and their role, station accounts with API tokens, sign-in locks.

Roles are Django groups (inspection.lib.roles); a user holds at most one.
Passwords and tokens made here are returned once, to be shown once.
"""

from __future__ import annotations

import secrets

from axes.utils import reset as axes_reset
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group, Permission
from django.contrib.contenttypes.models import ContentType
from django.db import IntegrityError, transaction
from rest_framework.authtoken.models import Token

from inspection.audit import record_field_change
from inspection.errors import Conflict, InvalidInput
from inspection.lib.roles import PERMISSIONS, ROLE_ORDER, ROLE_PERMISSIONS
from inspection.models import Role
from inspection.selectors.accounts import STATION_PREFIX, user_is_station


def role_groups_ensure() -> None:
    """Create the four role groups and their permissions if missing (the migration does it on upgrade;
    a database emptied by `flush` needs it again)."""
    content_type = ContentType.objects.get_for_model(Role, for_concrete_model=False)
    permissions = {}
    for codename, name in PERMISSIONS.items():
        permissions[codename], _ = Permission.objects.get_or_create(
            content_type=content_type, codename=codename, defaults={"name": name}
        )
    for role in ROLE_ORDER:
        group, _ = Group.objects.get_or_create(name=role)
        group.permissions.add(*(permissions[codename] for codename in ROLE_PERMISSIONS[role]))


def _check_role(role: str | None) -> None:
    if role is not None and role not in ROLE_ORDER:
        raise InvalidInput(f"Unknown role {role!r}: choose one of {', '.join(ROLE_ORDER)}.")


def new_password() -> str:
    return secrets.token_urlsafe(12)


@transaction.atomic
def user_set_role(*, user, role: str | None):
    """Give `user` the role (replacing any other role); None takes every role away."""
    _check_role(role)
    role_groups_ensure()
    current = list(user.groups.filter(name__in=ROLE_ORDER))
    if role is not None and [group.name for group in current] == [role]:
        return user
    if current:
        user.groups.remove(*current)
    if role is not None:
        user.groups.add(Group.objects.get(name=role))
    return user


@transaction.atomic
def user_create(*, username: str, role: str | None, email: str = "") -> tuple[object, str]:
    """A new user with a generated password; returns (user, password)."""
    username = username.strip()
    if not username:
        raise InvalidInput("Give the user a name.")
    if username.startswith(STATION_PREFIX):
        raise InvalidInput(f"Names starting with {STATION_PREFIX!r} are kept for station accounts.")
    _check_role(role)
    password = new_password()
    try:
        with transaction.atomic():
            user = get_user_model().objects.create_user(username=username, email=email, password=password)
    except IntegrityError as error:
        raise Conflict(f"There is already a user named {username}.") from error
    user_set_role(user=user, role=role)
    return user, password


def user_set_active(*, user, active: bool, changed_by):
    if not active and user.pk == changed_by.pk:
        raise InvalidInput("You cannot deactivate your own account.")
    user.is_active = active
    user.save(update_fields=["is_active"])
    if not active:
        # A deactivated account's token must stop working at once, not only its password.
        _token_revoke(user)
    return user


def user_password_reset(*, user) -> str:
    """Give `user` a new generated password and return it; the old one stops working."""
    if user_is_station(user):
        raise InvalidInput("Station accounts sign in with a token, not a password.")
    password = new_password()
    user.set_password(password)
    user.save(update_fields=["password"])
    return password


@transaction.atomic
def station_create(*, name: str) -> tuple[object, str]:
    """An operator account for a line machine, with no password and a new API token: returns (user, token)."""
    name = name.strip()
    if not name:
        raise InvalidInput("Give the station a name.")
    username = f"{STATION_PREFIX}{name}"
    try:
        with transaction.atomic():
            user = get_user_model().objects.create_user(username=username, password=None)
    except IntegrityError as error:
        raise Conflict(f"There is already a station named {name}.") from error
    user_set_role(user=user, role="operator")
    return user, _token_issue(user)


@transaction.atomic
def station_token_renew(*, user) -> str:
    """Replace the station's token (the old one stops working) and return the new one."""
    if not user_is_station(user):
        raise InvalidInput("Only station accounts get tokens here.")
    _token_revoke(user)
    return _token_issue(user)


def station_token_revoke(*, user) -> None:
    if not _token_revoke(user):
        raise Conflict(f"{user.username} has no token to revoke.")


def _token_issue(user) -> str:
    key = Token.objects.create(user=user).key
    record_field_change(user, field="api_token", before="none", after="issued")
    return key


def _token_revoke(user) -> bool:
    deleted, _ = Token.objects.filter(user=user).delete()
    if deleted:
        record_field_change(user, field="api_token", before="issued", after="revoked")
    return bool(deleted)


def sign_in_lock_lift(*, username: str) -> int:
    """Forget the failed sign-ins of `username` from every address; returns how many records went."""
    return axes_reset(username=username)
