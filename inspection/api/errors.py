"""Turn refusals raised below the views into JSON responses with a reason."""

from django.core.exceptions import RequestDataTooBig, TooManyFieldsSent, TooManyFilesSent
from rest_framework import status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from inspection.errors import ServiceError


def exception_handler(exc, context):
    if isinstance(exc, ServiceError):
        return Response({"detail": exc.message, **exc.details}, status=exc.status_code)
    if isinstance(exc, RequestDataTooBig):
        return Response(
            {"detail": "The request's form data is larger than DATA_UPLOAD_MAX_MEMORY_SIZE allows."},
            status=status.HTTP_413_REQUEST_ENTITY_TOO_LARGE,
        )
    if isinstance(exc, TooManyFilesSent):
        return Response(
            {"detail": "Too many files in one request (UPLOAD_MAX_FILES); send them in several requests or as a zip."},
            status=status.HTTP_400_BAD_REQUEST,
        )
    if isinstance(exc, TooManyFieldsSent):
        return Response({"detail": "Too many form fields in one request."}, status=status.HTTP_400_BAD_REQUEST)
    return drf_exception_handler(exc, context)
