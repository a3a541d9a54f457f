"""Template helpers that make the pages follow the role (built in: see TEMPLATES in settings).

    {% if user|can:"curate_dataset" %}<button>Delete</button>{% else %}
    <button disabled title="{{ "curate_dataset"|needs_role }}">Delete</button>{% endif %}
"""

from __future__ import annotations

from django import template

from inspection.lib.roles import APP_LABEL, PERMISSIONS, refusal_reason

register = template.Library()


@register.filter
def can(user, codename: str) -> bool:
    if codename not in PERMISSIONS:
        raise template.TemplateSyntaxError(f"unknown permission {codename!r} (see inspection.lib.roles)")
    return bool(user and user.is_authenticated and user.has_perm(f"{APP_LABEL}.{codename}"))


@register.filter
def needs_role(codename: str) -> str:
    """The words shown on a disabled action: which role may take it."""
    return refusal_reason(codename)
