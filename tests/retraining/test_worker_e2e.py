"""A retraining run end to end on a real Celery worker (Redis broker, gpu and cpu queues, test database):
labels from participants, the run, promotion with the participants' vectors recomputed in the background,
the worker switching models between jobs without a restart, rollback, and cancelling a long run."""
import pytest
from rest_framework.test import APIClient

from tests.retraining.conftest import make_labels
from tests.webapp.helpers import log_events, wait_for
from webapp.core import selectors as core_selectors
from webapp.core import services as core_services
from webapp.core.models import Job, ModelVersion
from webapp.participants.models import PreferenceVector
from webapp.retraining.models import RetrainingRun

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


def finished_run(run_id):
    run = RetrainingRun.objects.get(pk=run_id)
    return None if run.in_progress else run


def finished_job(job_id):
    job = Job.objects.get(pk=job_id)
    return job if job.status in (Job.Status.SUCCEEDED, Job.Status.FAILED) else None


def enhance_on_worker(photo, log) -> Job:
    job = core_services.enhancement_request(photo=photo, style="vivid", strength=1)
    job = wait_for(lambda: finished_job(job.pk), 90, "an enhancement", log)
    assert job.status == Job.Status.SUCCEEDED, job.error
    return job


def test_retrain_promote_switch_rollback_and_cancel_on_the_worker(worker_environment, pool, active_model,
                                                                   celery_worker, admin_user):
    log = celery_worker.log_path
    people = make_labels(participants=3, picks=6)
    for person in people:
        job = wait_for(lambda person=person: finished_job(Job.objects.get(
            kind=Job.Kind.PREFERENCE, params__participant=str(person.pk)).pk), 90, "a preference vector", log)
        assert job.status == Job.Status.SUCCEEDED, job.error
    enhance_on_worker(pool[0], log)
    client = APIClient()
    client.force_authenticate(admin_user)

    response = client.post("/api/retraining/runs/", {}, format="json")
    assert response.status_code == 202, response.content
    run = wait_for(lambda: finished_run(response.json()["id"]), 240, "the retraining run", log)
    assert run.status == "succeeded", f"{run.error}\n{run.log}"
    detail = client.get(f"/api/retraining/runs/{run.pk}/").json()
    assert detail["progress"] == 100 and "finetune-pienet step 3/3" in detail["log"]
    assert detail["metrics"]["heldout"]["candidate"]["participants"] == 3
    assert "PIENET_RETRAIN_BENCHMARK_DIR is not set" in detail["metrics"]["benchmark"]["skipped"]
    candidate = run.candidate_version
    assert detail["candidate_version"]["name"] == candidate.name and candidate.status == "candidate"
    assert core_selectors.active_model_version() == active_model  # nothing changes before a promotion

    assert client.post(f"/api/models/{candidate.pk}/promote/").status_code == 200
    recompute = wait_for(lambda: Job.objects.filter(kind=Job.Kind.RECOMPUTE, model_version=candidate).first(), 10,
                         "the recompute job to be queued", log)
    recompute = wait_for(lambda: finished_job(recompute.pk), 120, "participants' vectors for the new model", log)
    assert recompute.status == Job.Status.SUCCEEDED and recompute.result["vectors"] == 3, recompute.error
    assert PreferenceVector.objects.filter(model_version=candidate).count() == 3
    assert PreferenceVector.objects.filter(model_version=active_model).count() == 3  # still valid for their version
    enhance_on_worker(pool[1], log)
    assert client.post(f"/api/models/{active_model.pk}/rollback/").status_code == 200
    enhance_on_worker(pool[2], log)

    # One worker process served the old model, then the new one, then the old one again: no restart.
    loads = [(event["model_version"], event["process"]) for event in log_events(log, "model_loaded")]
    served = [name for name, _ in loads]
    assert served[0] == "base" and served[-1] == "base" and candidate.name in served
    assert len({process for _, process in loads}) == 1

    long_run = client.post("/api/retraining/runs/", {"recipe": {"embedding": {"steps": 100000}}}, format="json")
    assert long_run.status_code == 202
    wait_for(lambda: RetrainingRun.objects.filter(pk=long_run.json()["id"], stage="finetune-embedding").exists(),
             120, "the long run to train", log)
    assert client.post(f"/api/retraining/runs/{long_run.json()['id']}/cancel/").status_code == 202
    cancelled = wait_for(lambda: finished_run(long_run.json()["id"]), 60, "the run to stop", log)
    assert cancelled.status == "cancelled" and cancelled.candidate_version is None
    assert ModelVersion.objects.count() == 2 and core_selectors.active_model_version() == active_model
