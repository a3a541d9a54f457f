"""Who may call what: one table for the REST API and the pages, checked in one place each.

The table maps (URL name, HTTP method) to the permission codename it needs
(see inspection.lib.roles for the roles that hold each). The DRF permission
class `RolePermission` (REST_FRAMEWORK["DEFAULT_PERMISSION_CLASSES"]) checks API
views; `RolePermissionMiddleware` checks the server-rendered pages against the
same table. A read not in the table needs `view_platform` (any role); a write
not in the table is refused to everyone, superusers included, so an endpoint
added later cannot write until someone decides who may
(tests/platform/test_role_table.py walks the URLs and fails on such a write).
"""

from __future__ import annotations

from urllib.parse import urlencode, urlsplit

from django.conf import settings
from django.contrib.auth.views import redirect_to_login
from django.http import HttpResponse
from django.shortcuts import render, resolve_url
from rest_framework.permissions import SAFE_METHODS, BasePermission

from inspection.lib.roles import APP_LABEL, refusal_reason

# Anyone may call these, signed in or not (signing in itself).
PUBLIC = "public"
DEFAULT_READ = "view_platform"

PERMISSION_TABLE: dict[tuple[str, str], str] = {
    # --- Signing in and out ------------------------------------------------
    ("api-token", "POST"): PUBLIC,
    ("login", "GET"): PUBLIC,
    ("login", "POST"): PUBLIC,
    ("login", "PUT"): PUBLIC,
    ("logout", "POST"): PUBLIC,
    ("health", "GET"): PUBLIC,
    # --- Products ----------------------------------------------------------
    ("product-list", "POST"): "manage_products",
    ("product-detail", "PATCH"): "curate_dataset",
    ("product-detail", "DELETE"): "manage_products",
    ("product-list-page", "POST"): "manage_products",
    # --- Data set: images, reference, region of interest --------------------
    ("product-reference-image", "POST"): "curate_dataset",
    ("product-registration", "POST"): "curate_dataset",
    ("image-list", "POST"): "curate_dataset",
    ("image-bulk-update", "PATCH"): "curate_dataset",
    ("image-detail", "PATCH"): "curate_dataset",
    ("image-detail", "DELETE"): "curate_dataset",
    ("dataset-bulk", "POST"): "curate_dataset",
    ("dataset-upload", "POST"): "curate_dataset",
    ("dataset-reference", "POST"): "curate_dataset",
    ("dataset-registration", "POST"): "curate_dataset",
    # --- Annotations and defect types --------------------------------------
    ("defect-type-list", "POST"): "annotate_images",
    ("defect-type-detail", "PATCH"): "annotate_images",
    ("defect-type-detail", "DELETE"): "curate_dataset",
    ("image-annotation", "PUT"): "annotate_images",
    ("annotation-restore", "POST"): "annotate_images",
    ("annotation-export", "GET"): "export_data",
    ("model-version-export", "GET"): "export_data",
    ("model-version-export", "POST"): "export_data",
    ("version-export", "POST"): "export_data",
    # --- Training and evaluation -------------------------------------------
    ("model-version-list", "POST"): "train_models",
    ("model-version-cancel", "POST"): "train_models",
    ("model-version-pixel-evaluation", "POST"): "train_models",
    ("product-retrain", "POST"): "train_models",
    ("job-cancel", "POST"): "train_models",
    ("training-page", "POST"): "train_models",
    ("training-cancel", "POST"): "train_models",
    ("training-live-cancel", "POST"): "train_models",
    ("job-live-cancel", "POST"): "train_models",
    ("retrain", "POST"): "train_models",
    ("version-compare", "GET"): "train_models",
    ("version-pixel-evaluation", "POST"): "train_models",
    # --- Operating point and activation ------------------------------------
    ("model-version-activate", "POST"): "set_operating_point",
    ("threshold-list", "POST"): "set_operating_point",
    ("threshold-rollback", "POST"): "set_operating_point",
    ("version-threshold", "POST"): "set_operating_point",
    ("version-threshold-rollback", "POST"): "set_operating_point",
    ("version-activate", "POST"): "set_operating_point",
    # --- Inspection ----------------------------------------------------------
    ("inspection-list", "POST"): "inspect_parts",
    ("inspect-page", "POST"): "inspect_parts",
    # --- Review ------------------------------------------------------------
    ("review-item-claim-next", "POST"): "review_parts",
    ("review-item-claim", "POST"): "review_parts",
    ("review-item-release", "POST"): "review_parts",
    ("review-item-decide", "POST"): "review_parts",
    ("review-item-undo", "POST"): "review_parts",
    ("review-undo", "POST"): "review_parts",
    # --- The line's view: hotkey order, drift, history export --------------
    ("defect-type-order", "PUT"): "curate_dataset",
    ("defect-type-move", "POST"): "curate_dataset",
    ("drift-check", "POST"): "train_models",
    ("drift-check-api", "POST"): "train_models",
    ("drift-send-to-review", "POST"): "curate_dataset",
    ("drift-send-to-review-api", "POST"): "curate_dataset",
    ("inspection-export", "GET"): "export_data",
    ("review-next", "POST"): "review_parts",
    ("review-decide", "POST"): "review_parts",
    ("review-release", "POST"): "review_parts",
    # --- Accounts, sign-in locks and the audit log ----------------------------
    ("audit-list", "GET"): "view_audit_log",
    ("audit-page", "GET"): "view_audit_log",
    ("user-list-page", "GET"): "manage_users",
    ("user-list-page", "POST"): "manage_users",
    ("user-role", "POST"): "manage_users",
    ("user-active", "POST"): "manage_users",
    ("user-password-reset", "POST"): "manage_users",
    ("user-unlock", "POST"): "manage_users",
    ("station-create", "POST"): "manage_users",
    ("station-token-revoke", "POST"): "manage_users",
}


class Outcome:
    """The outcome of a check: allowed, or refused with the words that say why."""

    def __init__(self, allowed: bool, reason: str = "", needs_role: bool = False):
        self.allowed = allowed
        self.reason = reason
        self.needs_role = needs_role


def permission_required(url_name: str | None, method: str) -> str | None:
    """The codename (or PUBLIC) that a request needs; None for a write the table does not list."""
    method = "GET" if method in ("HEAD", "OPTIONS") and (url_name, method) not in PERMISSION_TABLE else method
    required = PERMISSION_TABLE.get((url_name, method))
    if required is not None:
        return required
    return DEFAULT_READ if method in SAFE_METHODS else None


def check(user, url_name: str | None, method: str) -> Outcome:
    required = permission_required(url_name, method)
    if required == PUBLIC:
        return Outcome(True)
    if required is None:
        return Outcome(
            False, f"{method} {url_name or 'this address'} is not in the permission table; nobody may call it."
        )
    if not (user and user.is_authenticated):
        return Outcome(False, "Sign in first.")
    if user.has_perm(f"{APP_LABEL}.{required}"):
        return Outcome(True)
    if not user.has_perm(f"{APP_LABEL}.{DEFAULT_READ}"):
        return Outcome(
            False,
            f"Your account has no role yet: ask an administrator to give you one. {refusal_reason(required)}",
            needs_role=True,
        )
    return Outcome(False, refusal_reason(required))


class RolePermission(BasePermission):
    """DRF's check for every API view: the permission table, by URL name and method."""

    message = "You may not do this."

    def has_permission(self, request, view) -> bool:
        url_name = request.resolver_match.url_name if request.resolver_match else None
        outcome = check(request.user, url_name, request.method)
        if not outcome.allowed:
            self.message = outcome.reason
        return outcome.allowed


def _is_api_view(view_func) -> bool:
    # Imported here: DRF loads this module while rest_framework.views is still importing.
    from rest_framework.views import APIView

    view_class = getattr(view_func, "cls", None) or getattr(view_func, "view_class", None)
    return isinstance(view_class, type) and issubclass(view_class, APIView)


def sign_in_response(request) -> HttpResponse:
    """Where an anonymous page request goes: the sign-in form. When htmx asks for a partial after the
    session has ended, the whole page goes there (HX-Redirect) instead of the form being swapped into it."""
    if request.headers.get("HX-Request") == "true":
        page = urlsplit(request.headers.get("HX-Current-URL", "")).path or "/"
        response = HttpResponse("Sign in again to follow the progress.", status=401, content_type="text/plain")
        response["HX-Redirect"] = f"{resolve_url(settings.LOGIN_URL)}?{urlencode({'next': page})}"
        return response
    return redirect_to_login(request.get_full_path())


class RolePermissionMiddleware:
    """The same table for the server-rendered pages (API views are left to RolePermission,
    which sees the token-authenticated user; the Django admin keeps its own checks)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_view(self, request, view_func, view_args, view_kwargs):
        match = request.resolver_match
        if _is_api_view(view_func) or (match and "admin" in match.namespaces):
            return None
        user = getattr(request, "user", None)
        url_name = match.url_name if match else None
        outcome = check(user, url_name, request.method)
        if outcome.allowed:
            return None
        if not (user and user.is_authenticated) and permission_required(url_name, request.method) is not None:
            return sign_in_response(request)
        template = "no_role.html" if outcome.needs_role else "forbidden.html"
        return render(request, template, {"reason": outcome.reason}, status=403)
