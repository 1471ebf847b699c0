from django.urls import path

from webapp.retraining import apis

app_name = "retraining"

urlpatterns = [
    path("api/retraining/runs/", apis.RunListApi.as_view(), name="api-runs"),
    path("api/retraining/runs/<uuid:run_id>/", apis.RunDetailApi.as_view(), name="api-run"),
    path("api/retraining/runs/<uuid:run_id>/cancel/", apis.RunCancelApi.as_view(), name="api-run-cancel"),
    path("api/retraining/audit/", apis.AuditListApi.as_view(), name="api-audit"),
    path("api/models/<int:version_id>/promote/", apis.ModelPromoteApi.as_view(), name="api-model-promote"),
    path("api/models/<int:version_id>/rollback/", apis.ModelRollbackApi.as_view(), name="api-model-rollback"),
]
