"""The health endpoint and the pool's photos at full size (the home page is the demo app's landing page)."""
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponse, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from webapp.core import selectors, services
from webapp.core.health import health_report
from webapp.core.permissions import is_researcher


@require_GET
@never_cache
def healthz(request):
    report, status_code = health_report()
    return JsonResponse(report, status=status_code)


@require_GET
def photo_original(request, photo_id: int):
    """A pool photo for researchers, as freshly encoded pixels: the stored bytes (with their metadata, or
    whatever else a crafted file carries beside its image) are never sent back."""
    if not is_researcher(request.user):
        raise PermissionDenied("Only researchers may see the platform's photos.")
    photo = selectors.photo_list().filter(pk=photo_id).first()
    if photo is None:
        raise Http404("No such photo.")
    try:
        data = services.photo_full_size_jpeg(photo)
    except FileNotFoundError:
        raise Http404("The photo's file is no longer in the photo directory.") from None
    response = HttpResponse(data, content_type="image/jpeg")
    response["X-Content-Type-Options"] = "nosniff"
    response["Cache-Control"] = "private, max-age=3600"
    return response
