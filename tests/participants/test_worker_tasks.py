"""The participant tasks on a real Celery worker (Redis broker, cpu and gpu queues, test database)."""
import pytest
from rest_framework.test import APIClient

from tests.participants.helpers import joined_client, pick_until
from tests.studies.helpers import researcher
from tests.webapp.helpers import jpeg_bytes, wait_for
from webapp.core import services as core_services
from webapp.core.models import Job, Photo
from webapp.participants.models import Candidate, PreferenceVector

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


def finished(job_id):
    job = Job.objects.get(pk=job_id)
    return job if job.status in (Job.Status.SUCCEEDED, Job.Status.FAILED) else None


def test_candidates_vector_and_preview_run_on_the_worker(celery_worker, active_model, picking_round):
    log = celery_worker.log_path
    photos = [core_services.photo_create(data=jpeg_bytes(72, 54, seed=900 + i), title=f"w{i}")[0] for i in range(9)]
    wait_for(lambda: Photo.objects.exclude(screen="").count() == 9, 90, "screen renditions (cpu queue)", log)

    admin = APIClient()
    admin.force_login(researcher())
    response = admin.post("/api/candidates/", {"photo_ids": [p.pk for p in photos[:6]],
                                               "retouch_styles": ["vivid", "mono_classic"]}, format="json")
    assert response.status_code == 202, response.content
    job = wait_for(lambda: finished(response.json()["id"]), 180, "the candidate job (cpu then gpu)", log)
    assert job.status == Job.Status.SUCCEEDED, job.error
    assert job.result["retouch_rendered"] == 12 and job.result["pienet_rendered"] == 12 and job.result["embedded"] == 24
    assert Candidate.objects.filter(embedding_model_version=active_model).count() == 24

    client = joined_client("taste")
    pick_until(client, "taste", picks=10, per_set=2)
    finish = client.post("/api/rounds/taste/finish/")
    assert finish.status_code == 202
    preference_job = wait_for(lambda: finished(finish.json()["id"]), 120, "the preference job", log)
    assert preference_job.status == Job.Status.SUCCEEDED, preference_job.error
    preference = PreferenceVector.objects.get()
    assert preference.positives == 10 and preference.model_version == active_model
    for job_id in preference_job.result["preview_jobs"]:
        preview = wait_for(lambda job_id=job_id: finished(job_id), 120, "a preview (gpu queue)", log)
        assert preview.status == Job.Status.SUCCEEDED, preview.error
    state = client.get("/api/rounds/taste/preview/").json()
    assert state["status"] == "ready" and len(state["items"]) == 3
