"""The health check, open to anyone for container orchestration."""

from django.db import connection
from django.http import JsonResponse


def health(request):
    """Open to anyone, for container health checks: answers only when the database does."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    return JsonResponse({"status": "ok"})
