"""Model registry, photos and enhancement services, run in-process on the test database."""
import logging
from decimal import Decimal

import pytest
from django.core.files.storage import default_storage
from django.db import IntegrityError, transaction

from tests.webapp.helpers import STYLE_NAMES, jpeg_bytes, write_checkpoint
from webapp.core import model_runtime, selectors, services
from webapp.core.models import Enhancement, Job, ModelVersion

pytestmark = pytest.mark.django_db


@pytest.fixture
def active_version(tiny_checkpoint):
    version, _ = services.model_version_register(checkpoint_path=tiny_checkpoint, name="tiny-a", activate=True)
    return version


@pytest.fixture
def photo():
    photo, _ = services.photo_create(data=jpeg_bytes(seed=7), title="gradient")
    return photo


def test_register_records_hash_styles_and_metrics(tiny_checkpoint):
    from ml.checkpoint import file_sha256

    version, created = services.model_version_register(checkpoint_path=tiny_checkpoint, notes="unit test")
    assert created
    assert version.sha256 == file_sha256(tiny_checkpoint)
    assert version.styles == sorted(STYLE_NAMES)
    assert version.metrics == {"test_psnr": 21.0}
    assert version.status == ModelVersion.Status.CANDIDATE
    again, created_again = services.model_version_register(checkpoint_path=tiny_checkpoint)
    assert (again.pk, created_again) == (version.pk, False)


def test_register_rejects_missing_garbage_and_embedding_only_files(tmp_path):
    with pytest.raises(services.ServiceError, match="No checkpoint file"):
        services.model_version_register(checkpoint_path=tmp_path / "absent.pt")
    garbage = tmp_path / "garbage.pt"
    garbage.write_bytes(b"not a checkpoint")
    with pytest.raises(services.ServiceError, match="not a usable checkpoint"):
        services.model_version_register(checkpoint_path=garbage)
    stage_one = write_checkpoint(tmp_path / "stage1.pt", seed=3, with_pienet=False)
    with pytest.raises(services.ServiceError, match="stage 1"):
        services.model_version_register(checkpoint_path=stage_one)


def test_activation_switches_atomically_and_keeps_one_active(tiny_checkpoint, second_checkpoint):
    first, _ = services.model_version_register(checkpoint_path=tiny_checkpoint, activate=True)
    second, _ = services.model_version_register(checkpoint_path=second_checkpoint)
    assert selectors.active_model_version() == first
    services.model_version_activate(version=second)
    first.refresh_from_db()
    assert first.status == ModelVersion.Status.RETIRED
    assert selectors.active_model_version() == second
    assert ModelVersion.objects.filter(status=ModelVersion.Status.ACTIVE).count() == 1
    first.status = ModelVersion.Status.ACTIVE
    with pytest.raises(IntegrityError), transaction.atomic():
        first.save()


def test_photos_are_stored_once_per_content_and_bad_bytes_are_refused():
    data = jpeg_bytes(seed=1)
    photo, created = services.photo_create(data=data, title="one")
    duplicate, created_again = services.photo_create(data=data, title="same bytes")
    assert created and not created_again and duplicate.pk == photo.pk
    assert (photo.width, photo.height) == (64, 48)
    assert photo.image.storage.open(photo.image.name).read() == data
    assert not default_storage.exists(photo.image.name)  # never under MEDIA_URL
    with pytest.raises(services.ServiceError):
        services.photo_create(data=b"\x89PNG but not really")


def test_thumbnail_is_made_once_and_fits_the_configured_size(settings, photo):
    settings.PIENET_THUMBNAIL_SIZE = 32
    services.photo_make_thumbnail(photo_id=photo.pk)
    photo.refresh_from_db()
    from ml.images import load_image_uint8

    thumbnail = load_image_uint8(default_storage.open(photo.thumbnail.name).read())
    assert max(thumbnail.shape[:2]) == 32
    name = photo.thumbnail.name
    services.photo_make_thumbnail(photo_id=photo.pk)
    photo.refresh_from_db()
    assert photo.thumbnail.name == name


def test_photo_creation_queues_its_thumbnail_only_after_commit(django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        services.photo_create(data=jpeg_bytes(seed=2))
    assert len(callbacks) == 1


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


def test_worker_model_cache_loads_once_and_follows_a_switch(
    photo, active_version, second_checkpoint, caplog, monkeypatch
):
    monkeypatch.setattr(model_runtime, "_loaded_key", None)
    monkeypatch.setattr(model_runtime, "_loaded_enhancer", None)
    caplog.set_level(logging.INFO, logger="webapp.core.model_runtime")
    first = model_runtime.enhancer_for(active_version)
    assert model_runtime.enhancer_for(active_version) is first
    second, _ = services.model_version_register(checkpoint_path=second_checkpoint, activate=True)
    assert model_runtime.enhancer_for(second) is not first
    loads = [record.model_version for record in caplog.records if record.getMessage() == "model_loaded"]
    assert loads == [active_version.name, second.name]


def test_a_checkpoint_changed_after_registration_fails_the_job(photo, tmp_path, monkeypatch):
    path = write_checkpoint(tmp_path / "mutable.pt", seed=4)
    services.model_version_register(checkpoint_path=path, activate=True)
    write_checkpoint(path, seed=5)
    monkeypatch.setattr(model_runtime, "_loaded_key", None)
    job = services.enhancement_request(photo=photo, style="bright", strength=1)
    with pytest.raises(model_runtime.ModelUnavailable) as raised:
        services.enhancement_job_run(job_id=str(job.pk))
    services.job_fail(job_id=job.pk, error=raised.value)
    job.refresh_from_db()
    assert job.status == Job.Status.FAILED and "changed after it was registered" in job.error


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
