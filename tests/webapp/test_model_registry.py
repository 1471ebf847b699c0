"""The model registry: registering checkpoints, switching the active version, and the workers' model cache."""

import logging

import pytest
from django.db import IntegrityError, transaction

from tests.webapp.helpers import STYLE_NAMES, write_checkpoint
from webapp.core import model_runtime, selectors, services
from webapp.core.models import Job, ModelVersion

pytestmark = pytest.mark.django_db


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
