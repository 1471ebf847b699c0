"""The demo's jobs through a real Celery worker process over Redis, on the test database."""
import hashlib
from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from tests.demo.helpers import decode, jpeg, render, upload, wait_for_result
from tests.webapp.helpers import wait_for
from webapp.core.models import Job
from webapp.demo.models import Upload
from webapp.demo.tasks import delete_expired

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


def test_render_progress_download_and_clean_up_through_the_worker(celery_worker, active_model, media_root):
    client = Client()
    data = jpeg(1200, 900, seed=4)
    photo = upload(client, data, name="family-portrait-2024.jpg").json()
    requested = render(client, photo["token"], style="warm", strength=1.3)
    assert requested.status_code == 202
    state = wait_for_result(client, requested.json(), 90, celery_worker.log_path)
    assert state["status"] == "succeeded", state
    job = Job.objects.get()
    assert job.progress == 100 and job.attempts == 1 and job.started_at and job.finished_at
    assert job.model_version == active_model and job.params == {"demo_result": state["token"]}

    download = client.get(state["download_url"])
    assert download.status_code == 200
    assert decode(b"".join(download.streaming_content)).shape == (900, 1200, 3)  # full resolution
    after = decode(b"".join(client.get(state["after_url"]).streaming_content))
    assert after.shape == (900, 1200, 3)  # already smaller than a screen

    # Blends run in the worker too.
    mixed = wait_for_result(client, render(client, photo["token"], style="warm", blend_with="bright", mix=0.5).json(),
                            60, celery_worker.log_path)
    assert mixed["status"] == "succeeded" and mixed["label"] == "Warm 50% + Bright 50%"

    # The worker's log says what happened without anything of the photo or its links.
    log = celery_worker.log_path.read_text()
    assert "demo_rendered" in log
    for secret in ("family-portrait", hashlib.sha256(data).hexdigest()[:16], photo["token"], state["token"]):
        assert secret not in log

    # The hourly clean-up task, sent to the worker like beat does, deletes what is older than a day.
    Upload.objects.update(created_at=timezone.now() - timedelta(hours=25))
    delete_expired.delay()
    wait_for(lambda: not Upload.objects.exists(), 60, "the clean-up task", celery_worker.log_path)
    assert not Job.objects.exists() and not (media_root / "demo" / photo["token"]).exists()
    assert client.get(state["page_url"]).status_code == 404
