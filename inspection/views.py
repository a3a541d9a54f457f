"""The health check; the pages live in inspection/web/."""

from django.db import connection
from django.http import JsonResponse


def health(request):
    """Open to anyone, for container health checks: answers only when the database does."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    return JsonResponse({"status": "ok"})
