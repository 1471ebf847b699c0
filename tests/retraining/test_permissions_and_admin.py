"""Only admins (superusers) train, cancel, promote and roll back — through the API and the admin pages — and
the admin pages show what an admin needs to decide."""
import pytest
from django.test import Client
from rest_framework.test import APIClient

from tests.retraining.conftest import make_labels
from tests.webapp.helpers import write_checkpoint
from webapp.core import services as core_services
from webapp.core.models import AuditEvent, ModelVersion
from webapp.retraining.models import RetrainingRun

pytestmark = pytest.mark.django_db


def endpoints(version_id: int, run_id: str) -> list[tuple[str, str]]:
    return [
        ("get", "/api/retraining/runs/"), ("post", "/api/retraining/runs/"),
        ("get", f"/api/retraining/runs/{run_id}/"), ("post", f"/api/retraining/runs/{run_id}/cancel/"),
        ("post", f"/api/models/{version_id}/promote/"), ("post", f"/api/models/{version_id}/rollback/"),
        ("get", "/api/retraining/audit/"),
    ]


def test_only_admins_use_the_api(retrain_settings, pool, active_model, admin_user, researcher, tmp_path):
    make_labels(participants=3, picks=6)
    candidate, _ = core_services.model_version_register(checkpoint_path=write_checkpoint(tmp_path / "c.pt", seed=9))
    run = RetrainingRun.objects.create(recipe={}, request_key="x", base_version=active_model, requested_by=admin_user)
    anonymous, staff = APIClient(), APIClient()
    staff.force_authenticate(researcher)
    for method, url in endpoints(candidate.pk, run.pk):
        assert getattr(anonymous, method)(url, {}, format="json").status_code in (401, 403), url
        response = getattr(staff, method)(url, {}, format="json")
        assert response.status_code == 403 and "Only admins" in response.json()["detail"], url
    assert candidate.status == "candidate" and RetrainingRun.objects.count() == 1 and not run.cancel_requested
    admin = APIClient()
    admin.force_authenticate(admin_user)
    assert admin.get("/api/retraining/runs/").json()["results"][0]["id"] == str(run.pk)
    assert admin.get("/api/retraining/runs/00000000-0000-0000-0000-000000000000/").status_code == 404
    assert admin.post("/api/models/999999/promote/").status_code == 404
    response = admin.post(f"/api/models/{active_model.pk}/rollback/")
    assert response.status_code == 400 and "active model already" in response.json()["detail"]
    response = admin.post(f"/api/models/{candidate.pk}/rollback/")
    assert response.status_code == 400 and "never served" in response.json()["detail"]
    assert admin.post(f"/api/models/{candidate.pk}/promote/").json()["status"] == "active"


def test_admin_pages_are_for_admins(retrain_settings, pool, active_model, admin_user, researcher, tmp_path):
    make_labels(participants=3, picks=6)
    candidate, _ = core_services.model_version_register(checkpoint_path=write_checkpoint(tmp_path / "c.pt", seed=9))
    staff = Client()
    staff.force_login(researcher)
    assert staff.get("/admin/retraining/retrainingrun/").status_code == 403
    assert staff.get("/admin/retraining/retrainingrun/start/").status_code == 302
    assert staff.post("/admin/retraining/retrainingrun/start/", {"recipe": "{}"}).status_code == 302
    staff.post(f"/admin/core/modelversion/{candidate.pk}/promote/")
    assert not RetrainingRun.objects.exists()
    assert ModelVersion.objects.get(pk=candidate.pk).status == "candidate"

    admin = Client()
    admin.force_login(admin_user)
    page = admin.get("/admin/retraining/retrainingrun/start/").content.decode()
    assert "18 picks" in page and "3 participants" in page and "Minimum for a run: 15 picks from 3" in page
    response = admin.post("/admin/retraining/retrainingrun/start/", {"recipe": '{"pienet": {"stepz": 1}}'})
    assert "Unknown pienet recipe keys: stepz" in response.content.decode()
    response = admin.post("/admin/retraining/retrainingrun/start/", {"recipe": ""})
    run = RetrainingRun.objects.get()
    assert response.status_code == 302 and response["Location"].endswith(f"/{run.pk}/change/")
    page = admin.get(response["Location"]).content.decode()
    assert 'http-equiv="refresh"' in page and "Cancel this run" in page and "Not evaluated yet" in page
    admin.post(f"/admin/retraining/retrainingrun/{run.pk}/cancel/")
    run.refresh_from_db()
    assert run.status == "cancelled" and run.cancel_requested_by == admin_user

    listing = admin.get("/admin/core/modelversion/").content.decode()
    assert "Promote" in listing
    admin.post(f"/admin/core/modelversion/{candidate.pk}/promote/")
    assert ModelVersion.objects.get(pk=candidate.pk).status == "active"
    assert "Roll back to this" in admin.get("/admin/core/modelversion/").content.decode()
    admin.post(f"/admin/core/modelversion/{active_model.pk}/rollback/")
    assert ModelVersion.objects.get(pk=active_model.pk).status == "active"
    assert list(AuditEvent.objects.filter(actor=admin_user).values_list("action", flat=True).order_by("id")) == [
        "training_requested", "training_cancelled", "promoted", "rolled_back",
    ]
    assert admin.get("/admin/core/auditevent/").status_code == 200
