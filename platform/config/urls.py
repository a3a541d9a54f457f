"""Top-level URLs: the REST API under /api/, the admin, the web pages and media."""

from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path, re_path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from inspection.api.audit import AuditEntryListApi
from inspection.api.media import media_file
from inspection.web.health import health

urlpatterns = [
    path("api/audit/", AuditEntryListApi.as_view(), name="audit-list"),
    path("api/", include("inspection.api.urls")),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="api-docs"),
    path("admin/", admin.site.urls),
    path("accounts/login/", auth_views.LoginView.as_view(template_name="login.html"), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("healthz", health, name="health"),
    path("", include("inspection.web.urls")),
    path("", include("inspection.web.account_urls")),
    re_path(r"^media/(?P<path>.+)$", media_file, name="media"),
]
