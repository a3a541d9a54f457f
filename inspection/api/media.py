"""Uploaded images are private: only signed-in users (session or token) may fetch them."""

from pathlib import Path

from django.conf import settings
from django.http import Http404
from django.views.static import serve
from drf_spectacular.utils import extend_schema
from rest_framework.decorators import api_view


@extend_schema(exclude=True)
@api_view(["GET"])
def media_file(request, path: str):
    # `serve` refuses paths that leave the folder; the check here only keeps a
    # missing MEDIA_ROOT from turning into a server error.
    if not Path(settings.MEDIA_ROOT).is_dir():
        raise Http404("No media stored yet.")
    return serve(request._request, path, document_root=settings.MEDIA_ROOT)
