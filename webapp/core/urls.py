from django.urls import path

from webapp.core import apis, views

urlpatterns = [
    path("healthz", views.healthz, name="healthz"),
    path("photos/<int:photo_id>/original", views.photo_original, name="photo-original"),
    path("api/photos/", apis.PhotoListApi.as_view(), name="api-photos"),
    path("api/photos/<int:photo_id>/", apis.PhotoDetailApi.as_view(), name="api-photo"),
    path("api/enhancements/", apis.EnhancementCreateApi.as_view(), name="api-enhancements"),
    path("api/jobs/<uuid:job_id>/", apis.JobDetailApi.as_view(), name="api-job"),
    path("api/models/", apis.ModelVersionListApi.as_view(), name="api-models"),
    path("api/models/active/", apis.ActiveModelApi.as_view(), name="api-model-active"),
]
