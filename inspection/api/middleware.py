from django.conf import settings
from django.http import JsonResponse


class RequestSizeLimitMiddleware:
    """Refuse a request body larger than UPLOAD_MAX_REQUEST_BYTES before reading it.

    Django limits form fields but not uploaded files; without this a client
    could fill the disk with one request.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        try:
            length = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            return JsonResponse({"detail": "The Content-Length header is not a number."}, status=400)
        limit = settings.UPLOAD_MAX_REQUEST_BYTES
        if length > limit:
            return JsonResponse(
                {
                    "detail": f"The request is {length} bytes; at most {limit} bytes are accepted "
                    "(UPLOAD_MAX_REQUEST_BYTES). Upload the images in several smaller requests."
                },
                status=413,
            )
        return self.get_response(request)
