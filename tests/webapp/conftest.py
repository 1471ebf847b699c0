"""Fixtures for the platform tests."""
import os
import sys
import uuid
from pathlib import Path

import pytest

from tests.webapp.helpers import (
    database_url, jpeg_bytes, running_process, service_env, wait_for, write_checkpoint, write_photo_dir,
)
from webapp import test_settings
from webapp.core import services


@pytest.fixture(scope="session")
def checkpoint_dir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("checkpoints")


@pytest.fixture(scope="session")
def tiny_checkpoint(checkpoint_dir) -> Path:
    return write_checkpoint(checkpoint_dir / "tiny-a.pt", seed=1)


@pytest.fixture(scope="session")
def second_checkpoint(checkpoint_dir) -> Path:
    return write_checkpoint(checkpoint_dir / "tiny-b.pt", seed=2)


@pytest.fixture(autouse=True)
def media_root(settings, tmp_path) -> Path:
    """Every test writes media into its own folder."""
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


@pytest.fixture(autouse=True)
def private_root(settings, tmp_path) -> Path:
    """And its private files (the demo's originals) into another, outside the media folder."""
    settings.PIENET_PRIVATE_ROOT = tmp_path / "private"
    return settings.PIENET_PRIVATE_ROOT


@pytest.fixture
def photo_dir(tmp_path) -> Path:
    return write_photo_dir(tmp_path / "photos", ["kodak24", "kodak24", "bsd100", "sice"])


@pytest.fixture
def redis_broker():
    if not test_settings.REDIS_AVAILABLE:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"Redis is required in CI ({test_settings.REDIS_TEST_URL})")
        pytest.skip(f"Redis not reachable at {test_settings.REDIS_TEST_URL}")
    return test_settings.REDIS_TEST_URL


@pytest.fixture
def celery_worker(redis_broker, transactional_db, media_root, tmp_path):
    """A real `celery worker` process (prefork, one child) on both queues, over Redis, on the test database."""
    from django.conf import settings

    from webapp.celery import app as celery_app

    name = f"test-{uuid.uuid4().hex[:8]}@localhost"
    log_path = tmp_path / "worker.log"
    env = service_env(
        DATABASE_URL=database_url(), CELERY_BROKER_URL=redis_broker, MEDIA_ROOT=media_root,
        PIENET_PRIVATE_ROOT=settings.PIENET_PRIVATE_ROOT, PIENET_VAR_DIR=tmp_path / "var",
    )
    command = [sys.executable, "-m", "celery", "-A", "webapp", "worker", "--queues", "gpu,cpu",
               "--concurrency", "1", "--hostname", name, "--without-gossip", "--without-mingle"]
    with running_process(command, env, log_path) as process:
        wait_for(lambda: celery_app.control.ping(destination=[name], timeout=0.5), 90, "the worker to answer", log_path)
        process.log_path = log_path
        process.hostname = name
        yield process


@pytest.fixture
def active_version(tiny_checkpoint):
    """The tiny checkpoint, registered and active."""
    version, _ = services.model_version_register(checkpoint_path=tiny_checkpoint, name="tiny-a", activate=True)
    return version


@pytest.fixture
def photo():
    """A small platform photo (64 × 48)."""
    photo, _ = services.photo_create(data=jpeg_bytes(seed=7), title="gradient")
    return photo
