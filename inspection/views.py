"""Server-rendered pages (a minimal set until the web UI lands) and the health check."""

from django.contrib.auth.decorators import login_required
from django.db import connection
from django.http import JsonResponse
from django.shortcuts import render

from inspection.selectors.products import product_list


@login_required
def product_list_page(request):
    return render(request, "products.html", {"products": product_list()})


def health(request):
    """Open to anyone, for container health checks: answers only when the database does."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    return JsonResponse({"status": "ok"})
