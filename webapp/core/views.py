"""The health endpoint and originals of imported photos (the home page is the demo app's landing page)."""
import mimetypes

from django.core.files.storage import default_storage
from django.http import FileResponse, Http404, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from webapp.core import selectors
from webapp.core.health import health_report


@require_GET
@never_cache
def healthz(request):
    report, status_code = health_report()
    return JsonResponse(report, status=status_code)


@require_GET
def photo_original(request, photo_id: int):
    """Originals of imported photos live outside media storage, so they are streamed from here."""
    photo = selectors.photo_list().filter(pk=photo_id).first()
    if photo is None:
        raise Http404("No such photo.")
    if photo.image:
        handle, name = default_storage.open(photo.image.name, "rb"), photo.image.name
    else:
        try:
            handle, name = open(photo.source_path, "rb"), photo.source_path
        except FileNotFoundError:
            raise Http404("The photo's file is no longer in the photo directory.") from None
    content_type = mimetypes.guess_type(name)[0] or "application/octet-stream"
    return FileResponse(handle, content_type=content_type)
