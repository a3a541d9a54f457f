"""Roles are Django groups; this proxy gives their permissions a home in this app."""

from __future__ import annotations

from django.contrib.auth.models import Group

from inspection.lib.roles import PERMISSIONS


class Role(Group):
    """A Django group named after a role (operator, reviewer, engineer, admin); no table of its own."""

    class Meta:
        proxy = True
        default_permissions = ()
        permissions = list(PERMISSIONS.items())
