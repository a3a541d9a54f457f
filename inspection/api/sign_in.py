"""POST /api/auth/token/: a user name and password for an API token, with django-axes' lockout.

DRF hands its own request object to authenticate(), so axes' lockout flag
lands there and its middleware never sees it; this view answers the lockout
itself, with 429 and the reason in JSON.
"""

from __future__ import annotations

from axes.helpers import get_lockout_message
from rest_framework import status
from rest_framework.authtoken.views import ObtainAuthToken
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response


class TokenObtainApi(ObtainAuthToken):
    def post(self, request, *args, **kwargs):
        try:
            return super().post(request, *args, **kwargs)
        except ValidationError:
            if getattr(request, "axes_locked_out", False):
                return Response(
                    {"detail": f"{get_lockout_message()} An administrator can lift the lock on the Users page."},
                    status=status.HTTP_429_TOO_MANY_REQUESTS,
                )
            raise
