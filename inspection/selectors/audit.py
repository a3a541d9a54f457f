"""Reading the audit log (django-auditlog's entries), newest first, with the filters people ask for."""

from __future__ import annotations

from datetime import datetime

from auditlog.models import LogEntry
from django.contrib.auth import get_user_model
from django.db.models import Q, QuerySet

from inspection.audit import SIGN_IN_FAILED

# The action names the log speaks in, and what each means in auditlog's terms.
ACTIONS = {
    "create": Q(action=LogEntry.Action.CREATE),
    "update": Q(action=LogEntry.Action.UPDATE),
    "delete": Q(action=LogEntry.Action.DELETE),
    SIGN_IN_FAILED: Q(action=LogEntry.Action.ACCESS, additional_data__event=SIGN_IN_FAILED),
}


def audit_entry_list(
    *,
    product_id: int | None = None,
    username: str | None = None,
    action: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
) -> QuerySet[LogEntry]:
    """Entries newest first. `username` matches the actor, or the account a failed sign-in named."""
    entries = LogEntry.objects.select_related("actor", "content_type").order_by("-timestamp", "-pk")
    if product_id is not None:
        entries = entries.filter(additional_data__product_id=product_id)
    if username:
        entries = entries.filter(
            Q(**{f"actor__{get_user_model().USERNAME_FIELD}": username}) | Q(additional_data__username=username)
        )
    if action:
        entries = entries.filter(ACTIONS[action])
    if since is not None:
        entries = entries.filter(timestamp__gte=since)
    if until is not None:
        entries = entries.filter(timestamp__lt=until)
    return entries


def audit_action_name(entry: LogEntry) -> str:
    if entry.action == LogEntry.Action.ACCESS and (entry.additional_data or {}).get("event") == SIGN_IN_FAILED:
        return SIGN_IN_FAILED
    return {LogEntry.Action.CREATE: "create", LogEntry.Action.UPDATE: "update", LogEntry.Action.DELETE: "delete"}.get(
        entry.action, "access"
    )


def audit_entry_summary(entry: LogEntry) -> dict:
    """One entry as the API and the page show it: who, when, what, and each changed field's before and after."""
    additional = entry.additional_data or {}
    changes = entry.changes if isinstance(entry.changes, dict) else {}
    return {
        "id": entry.pk,
        "timestamp": entry.timestamp,
        "actor": entry.actor.get_username() if entry.actor else None,
        "action": audit_action_name(entry),
        "object_type": entry.content_type.model if entry.content_type else None,
        "object_id": entry.object_pk,
        "object": entry.object_repr,
        "product_id": additional.get("product_id"),
        "changes": {field: _change(values) for field, values in changes.items()},
        "details": {key: value for key, value in additional.items() if key != "product_id"},
        "deleted_copy": (entry.serialized_data or {}).get("fields") if entry.action == LogEntry.Action.DELETE else None,
        "remote_addr": entry.remote_addr,
    }


def _change(values) -> dict:
    """A field's change: {"before", "after"}; a many-to-many one (groups): {"operation", "objects"}."""
    if isinstance(values, dict):
        return {"operation": values.get("operation"), "objects": values.get("objects", [])}
    before, after = values if isinstance(values, (list, tuple)) and len(values) == 2 else (None, values)
    return {"before": before, "after": after}
