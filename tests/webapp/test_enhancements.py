"""Enhancement jobs with a named style or any preference vector: validation, rendering once, cached results,
and how failed and stale jobs end."""

from decimal import Decimal

import numpy as np
import pytest
from django.core.files.storage import default_storage

from tests.webapp.helpers import jpeg_bytes
from webapp.core import services
from webapp.core.models import Enhancement, Job

pytestmark = pytest.mark.django_db


def test_enhancement_request_validates_model_style_and_strength(photo, tiny_checkpoint):
    with pytest.raises(services.ServiceError, match="No model is active"):
        services.enhancement_request(photo=photo, style="bright", strength=1)
    services.model_version_register(checkpoint_path=tiny_checkpoint, activate=True)
    with pytest.raises(services.ServiceError, match="Unknown style 'sepia'"):
        services.enhancement_request(photo=photo, style="sepia", strength=1)
    for bad in ("abc", -0.5, 2.5):
        with pytest.raises(services.ServiceError, match="Strength"):
            services.enhancement_request(photo=photo, style="bright", strength=bad)
    assert services.normalize_strength(0.755) == Decimal("0.76")


def test_enhancement_job_renders_once_and_reuses_the_result(photo, active_version, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        job = services.enhancement_request(photo=photo, style="warm", strength="0.5")
    assert len(callbacks) == 1 and job.status == Job.Status.QUEUED
    services.enhancement_job_run(job_id=str(job.pk))
    job.refresh_from_db()
    assert job.status == Job.Status.SUCCEEDED and job.progress == 100 and job.attempts == 1
    enhancement = Enhancement.objects.get(pk=job.result["enhancement_id"])
    assert (enhancement.width, enhancement.height) == (photo.width, photo.height)
    assert default_storage.exists(enhancement.image.name)

    services.enhancement_job_run(job_id=str(job.pk))  # a redelivered task changes nothing
    job.refresh_from_db()
    assert job.attempts == 1

    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        cached = services.enhancement_request(photo=photo, style="warm", strength=0.5)
    assert callbacks == [] and cached.status == Job.Status.SUCCEEDED
    assert cached.result["enhancement_id"] == enhancement.pk
    assert Enhancement.objects.count() == 1


def test_vector_enhancements_are_cached_by_vector_model_and_strength(
    tiny_checkpoint, django_capture_on_commit_callbacks
):
    version, _ = services.model_version_register(checkpoint_path=tiny_checkpoint, name="tiny", activate=True)
    photo, _ = services.photo_create(data=jpeg_bytes(seed=7), title="p")
    vector = np.linspace(-0.2, 0.2, version.config["vector_dim"]).astype(np.float32)
    with django_capture_on_commit_callbacks(execute=False) as queued:
        job = services.enhancement_request_vector(photo=photo, vector=vector, model_version=version)
    assert len(queued) == 1 and "vector" in job.params
    services.enhancement_job_run(job_id=str(job.pk))
    job.refresh_from_db()
    assert job.status == Job.Status.SUCCEEDED, job.error
    enhancement = Enhancement.objects.get()
    assert enhancement.style == "" and enhancement.vector_sha256 == services.vector_sha256(vector)

    with django_capture_on_commit_callbacks(execute=False) as queued:
        again = services.enhancement_request_vector(photo=photo, vector=vector.tolist(), model_version=version)
        other = services.enhancement_request_vector(photo=photo, vector=vector * 2, model_version=version)
    assert again.status == Job.Status.SUCCEEDED and again.result == job.result  # same key: no new work
    assert other.status == Job.Status.QUEUED and len(queued) == 1
    with pytest.raises(services.ServiceError, match="has 16 values, got 3"):
        services.enhancement_request_vector(photo=photo, vector=[1, 2, 3], model_version=version)


def test_internal_errors_are_not_shown_to_users(photo, active_version):
    job = services.enhancement_request(photo=photo, style="bright", strength=1)
    services.job_fail(job_id=job.pk, error=RuntimeError("CUDA out of memory at 0xdeadbeef"))
    job.refresh_from_db()
    assert job.status == Job.Status.FAILED and "0xdeadbeef" not in job.error


def test_stale_jobs_are_failed(photo, active_version, settings):
    job = services.enhancement_request(photo=photo, style="bright", strength=1)
    settings.PIENET_STALE_JOB_MINUTES = 0
    assert services.job_fail_stale() == 1
    job.refresh_from_db()
    assert job.status == Job.Status.FAILED and "No worker finished" in job.error
