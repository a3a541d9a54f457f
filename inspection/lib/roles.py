"""The four roles of a plant and what each may do, as Django permission codenames.

Pure data, shared by the data migration's copy, the permission table
(inspection.permissions), the templates' `can` filter and the README's table.
Each role holds every right of the roles before it.
"""

from __future__ import annotations

APP_LABEL = "inspection"

# codename -> what it allows, in words a person reads on a refusal.
PERMISSIONS: dict[str, str] = {
    "view_platform": "See products, data sets, versions and inspections",
    "inspect_parts": "Inspect parts, one at a time or in batches",
    "review_parts": "Claim and decide review items",
    "annotate_images": "Draw and save annotations, create and edit defect types",
    "curate_dataset": "Upload, label, split, exclude and delete images; choose the reference and region of interest",
    "train_models": "Start, cancel and compare trainings; evaluate versions",
    "set_operating_point": "Set thresholds and activate versions",
    "export_data": "Export annotations and data",
    "manage_products": "Create and delete products",
    "manage_users": "Create users and station accounts, set roles, lift sign-in locks",
    "view_audit_log": "Read the audit log",
}

OPERATOR, REVIEWER, ENGINEER, ADMIN = "operator", "reviewer", "engineer", "admin"
ROLE_ORDER = (OPERATOR, REVIEWER, ENGINEER, ADMIN)

_ADDED_BY_ROLE: dict[str, tuple[str, ...]] = {
    OPERATOR: ("view_platform", "inspect_parts"),
    REVIEWER: ("review_parts", "annotate_images"),
    ENGINEER: ("curate_dataset", "train_models", "set_operating_point", "export_data"),
    ADMIN: ("manage_products", "manage_users", "view_audit_log"),
}


def _cumulative() -> dict[str, frozenset[str]]:
    granted: set[str] = set()
    roles = {}
    for role in ROLE_ORDER:
        granted |= set(_ADDED_BY_ROLE[role])
        roles[role] = frozenset(granted)
    return roles


ROLE_PERMISSIONS: dict[str, frozenset[str]] = _cumulative()


def role_needed(codename: str) -> str:
    """The first role in the order operator -> admin that holds `codename`."""
    for role in ROLE_ORDER:
        if codename in ROLE_PERMISSIONS[role]:
            return role
    raise KeyError(f"no role holds the permission {codename!r}")


def refusal_reason(codename: str) -> str:
    """Why a user may not do something, naming the role that may."""
    return f"Needs the {role_needed(codename)} role ({PERMISSIONS[codename].lower()})."
