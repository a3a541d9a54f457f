"""URLs of the administrator's pages: users and station accounts, and the audit log."""

from django.urls import path

from inspection.web import accounts, audit

urlpatterns = [
    path("users/", accounts.user_list_page, name="user-list-page"),
    path("users/stations/", accounts.station_create_view, name="station-create"),
    path("users/<int:user_id>/role/", accounts.user_role_view, name="user-role"),
    path("users/<int:user_id>/active/", accounts.user_active_view, name="user-active"),
    path("users/<int:user_id>/password/", accounts.user_password_view, name="user-password-reset"),
    path("users/<int:user_id>/token/revoke/", accounts.station_token_revoke_view, name="station-token-revoke"),
    path("users/unlock/", accounts.user_unlock_view, name="user-unlock"),
    path("audit/", audit.audit_page, name="audit-page"),
]
