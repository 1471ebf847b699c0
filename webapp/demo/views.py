"""Pages of the public demo: the landing page (the site's home), the studio for one photo, a
result's own page, and the images, which are served only to holders of their token."""
from django.conf import settings
from django.core.files.storage import default_storage
from django.http import FileResponse, Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.text import slugify
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import ensure_csrf_cookie
from django.views.decorators.http import require_GET

from webapp.core import selectors as core_selectors
from webapp.demo import selectors, services

SHOWCASE_SIZE = 3


def _limits() -> dict:
    return {
        "bytes": settings.PIENET_MAX_UPLOAD_BYTES,
        "megabytes": round(settings.PIENET_MAX_UPLOAD_BYTES / 2**20),
        "megapixels": round(settings.PIENET_MAX_UPLOAD_PIXELS / 1e6),
        "hours": settings.PIENET_DEMO_RETENTION_HOURS,
    }


def _styles(version, upload) -> list[dict]:
    """The version's named styles for the picker, each shown on the visitor's own photo (thumbnails rendered
    by a worker; studio.js retries an image until it is there)."""
    if version is None:
        return []
    services.upload_previews_ensure(upload=upload, version=version)
    return [
        {"name": name, "label": services.style_label(name), "description": services.style_description(name),
         "preview_url": reverse("demo:style-thumbnail", args=[upload.token, name])}
        for name in version.styles
    ]


@ensure_csrf_cookie
@require_GET
def home(request):
    version = core_selectors.active_model_version()
    if version is not None:
        services.style_previews_ensure(version=version)
    context = {
        "active_model": version,
        "showcase": [
            {"label": services.style_label(preview.style), "preview_url": preview.image.url}
            for preview in selectors.showcase_styles(version, SHOWCASE_SIZE)
        ] if version else [],
        "showcase_photo": selectors.preview_photo(),
        "my_style": selectors.my_style(request, version),
        "samples": selectors.samples(),
        "continue_upload": selectors.remembered_upload(request.session),
        "limits": _limits(),
    }
    return render(request, "demo/home.html", context)


def _initial_look(latest, names: list[str], mine: dict) -> dict:
    """The controls' starting point: the photo's last look when it can still be made, else the default.
    A style of the visitor's own made since that look comes first (they come back from the picking
    round to see it)."""
    ready = mine["state"] == "ready"
    available = set(names) | ({services.MY_STYLE} if ready else set())
    made_since = ready and latest is not None and mine["made_at"] > latest.created_at
    if latest is not None and not made_since and all(name in available for name, _ in latest.spec["parts"]):
        parts = latest.spec["parts"]
        return {
            "style": parts[0][0], "blend_with": parts[1][0] if len(parts) > 1 else "",
            "mix": round(float(parts[1][1]) * 100) if len(parts) > 1 else 50, "strength": round(latest.strength * 100),
        }
    if ready:
        style = services.MY_STYLE
    elif settings.PIENET_DEMO_DEFAULT_STYLE in names:
        style = settings.PIENET_DEMO_DEFAULT_STYLE
    else:
        style = names[0] if names else ""
    return {"style": style, "blend_with": "", "mix": 50, "strength": 100}


@never_cache
@ensure_csrf_cookie
@require_GET
def studio(request, token: str):
    upload = selectors.upload_get(token)
    if upload is None:
        raise Http404("This photo does not exist (any more): demo photos are deleted after a day.")
    version = core_selectors.active_model_version()
    styles = _styles(version, upload)
    mine = selectors.my_style(request, version)
    context = {
        "upload": upload,
        "active_model": version,
        "styles": styles,
        "my_style": mine,
        "my_style_name": services.MY_STYLE,
        "look": _initial_look(selectors.latest_result(upload), [style["name"] for style in styles], mine),
        "limits": _limits(),
    }
    return render(request, "demo/studio.html", context)


@require_GET
def continue_demo(request):
    """Where the picking round sends visitors back: their latest photo, or the upload form."""
    upload = selectors.remembered_upload(request.session)
    return redirect("demo:studio", token=upload.token) if upload else redirect(reverse("demo:home") + "#try")


@never_cache
@require_GET
def result_page(request, token: str):
    result = selectors.result_get(token)
    if result is None:
        raise Http404("This result does not exist (any more): demo results are deleted after a day.")
    return render(request, "demo/result.html", {"result": result, "upload": result.upload, "limits": _limits()})


def _private_file(name: str, filename: str = "") -> FileResponse:
    response = FileResponse(
        default_storage.open(name, "rb"), content_type="image/jpeg", as_attachment=bool(filename), filename=filename
    )
    response["Cache-Control"] = "private, max-age=3600"
    response["X-Robots-Tag"] = "noindex"
    return response


@require_GET
def before_image(request, token: str):
    upload = selectors.upload_get(token)
    if upload is None:
        raise Http404("No such photo.")
    return _private_file(upload.before.name)


@require_GET
def style_thumbnail(request, token: str, style: str):
    """The visitor's photo in one style, small, for the style picker; 204 while a worker is still making it."""
    upload = selectors.upload_get(token)
    if upload is None:
        raise Http404("No such photo.")
    if style not in upload.previews:
        return HttpResponse(status=204)
    return _private_file(upload.previews[style])


def _finished_result(token: str):
    result = selectors.result_get(token)
    if result is None or not result.screen:
        raise Http404("No such result.")
    return result


@require_GET
def result_before(request, token: str):
    """The 'before' of a shared result, by the result's token: its page never names the upload's."""
    result = selectors.result_get(token)
    if result is None:
        raise Http404("No such result.")
    return _private_file(result.upload.before.name)


@require_GET
def result_screen(request, token: str):
    return _private_file(_finished_result(token).screen.name)


@require_GET
def result_download(request, token: str):
    """The full-resolution result as an attachment, named after its look and strength."""
    result = _finished_result(token)
    return _private_file(result.image.name, filename=f"pienet-{slugify(result.label)}-{result.strength}.jpg")
