"""Uploaded images are private: only signed-in users (session or token) may fetch them."""

from pathlib import Path

from django.conf import settings
from django.core.exceptions import SuspiciousFileOperation
from django.http import Http404
from django.views.static import serve
from drf_spectacular.utils import extend_schema
from rest_framework.decorators import api_view


@extend_schema(exclude=True)
@api_view(["GET"])
def media_file(request, path: str):
    if not Path(settings.MEDIA_ROOT).is_dir():
        raise Http404("No media stored yet.")
    try:
        return serve(request._request, path, document_root=settings.MEDIA_ROOT)
    except SuspiciousFileOperation:
        # A path that climbs out of the media folder is answered like a missing file.
        raise Http404("No such file.") from None
