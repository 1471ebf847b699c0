"""Refuse a request body that is too large before anything reads it.

Django reads the body lazily, but the first `request.POST` (a CSRF check, a form) reads all of it, and a
sync web worker waiting for a slow 30 MB body serves nobody else. This middleware runs first and answers
413 from the declared Content-Length alone. (Slowly sent bodies within the limit are the reverse proxy's
to buffer: nginx in docker-compose.yml.)
"""
from django.conf import settings
from django.http import HttpResponse, JsonResponse


class RequestBodyLimitMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        try:
            declared = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            return HttpResponse("The Content-Length header is not a number.", status=400, content_type="text/plain")
        limit = settings.PIENET_MAX_REQUEST_BYTES
        if declared > limit:
            message = f"The request is larger than the limit of {limit / 2**20:.0f} MB."
            if request.path.startswith("/api/"):
                response = JsonResponse({"detail": message}, status=413)
            else:
                response = HttpResponse(message, status=413, content_type="text/plain")
            response["Connection"] = "close"
            return response
        return self.get_response(request)
