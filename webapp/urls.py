"""Top-level routes. Feature apps add one `include()` line each to FEATURE_URLS."""
from django.conf import settings
from django.contrib import admin
from django.urls import include, path, re_path
from django.views.static import serve
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView


def serve_media(request, path):
    return serve(request, path, document_root=settings.MEDIA_ROOT)


FEATURE_URLS = [
    path("", include("webapp.core.urls")),
    path("", include("webapp.participants.urls")),
    path("", include("webapp.demo.urls")),
    path("", include("webapp.retraining.urls")),
    path("", include("studies.urls")),
]

urlpatterns = [
    path("admin/", admin.site.urls),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    # Swagger UI from the sidecar package (no CDN); its start script is a file of its own, as the CSP wants.
    path("api/docs/", SpectacularSwaggerSplitView.as_view(url_name="api-schema"), name="api-docs"),
    *FEATURE_URLS,
]

if settings.SERVE_MEDIA:
    # Local runs serve uploads and results themselves; in production a web server or S3 does.
    urlpatterns.append(re_path(rf"^{settings.MEDIA_URL.strip('/')}/(?P<path>.*)$", serve_media))
