"""Reading accounts: users with their role, station accounts, and sign-in locks."""

from __future__ import annotations

from axes.models import AccessAttempt
from django.conf import settings
from django.contrib.auth import get_user_model
from django.db.models import QuerySet
from django.shortcuts import get_object_or_404
from django.utils import timezone
from rest_framework.authtoken.models import Token

from inspection.lib.roles import ROLE_ORDER

# Station accounts (line machines) are marked by this prefix and never sign in with a password.
STATION_PREFIX = "station-"


def user_list() -> QuerySet:
    return get_user_model().objects.prefetch_related("groups").order_by("username")


def user_get(*, user_id: int):
    return get_object_or_404(get_user_model(), pk=user_id)


def user_role(user) -> str | None:
    """The highest role among the user's groups; None for a user in none of them."""
    names = {group.name for group in user.groups.all()}
    held = [role for role in ROLE_ORDER if role in names]
    return held[-1] if held else None


def user_is_station(user) -> bool:
    return user.username.startswith(STATION_PREFIX) and not user.has_usable_password()


def user_has_token(user) -> bool:
    return Token.objects.filter(user=user).exists()


def sign_in_locks() -> dict[str, list[AccessAttempt]]:
    """User name -> the addresses it is locked out from right now (django-axes' failure records)."""
    since = timezone.now() - settings.AXES_COOLOFF_TIME
    attempts = AccessAttempt.objects.filter(
        failures_since_start__gte=settings.AXES_FAILURE_LIMIT, attempt_time__gte=since
    ).order_by("-attempt_time")
    locks: dict[str, list[AccessAttempt]] = {}
    for attempt in attempts:
        locks.setdefault(attempt.username or "", []).append(attempt)
    return locks
