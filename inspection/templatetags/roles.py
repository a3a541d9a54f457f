"""Template helpers that make the pages follow the role (built in: see TEMPLATES in settings).

{% if user|can:"manage_users" %}<a href="...">Users</a>{% endif %}
<button type="submit" {% disabled_unless_can "curate_dataset" %}>Delete</button>
"""

from __future__ import annotations

from django import template
from django.utils.html import format_html

from inspection.lib.roles import APP_LABEL, PERMISSIONS, refusal_reason, role_needed

register = template.Library()


@register.filter
def can(user, codename: str) -> bool:
    if codename not in PERMISSIONS:
        raise template.TemplateSyntaxError(f"unknown permission {codename!r} (see inspection.lib.roles)")
    return bool(user and user.is_authenticated and user.has_perm(f"{APP_LABEL}.{codename}"))


@register.simple_tag(takes_context=True)
def disabled_unless_can(context, codename: str) -> str:
    """Inside a <button>: nothing when the user may take the action, else `disabled` with the reason on hover."""
    user = context.get("user") or getattr(context.get("request"), "user", None)
    if can(user, codename):
        return ""
    return format_html('disabled title="{}" data-needs-role="{}"', refusal_reason(codename), role_needed(codename))
