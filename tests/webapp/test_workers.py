"""Real worker processes: Redis round trips (full stack) and `manage.py rundemo` (embedded default)."""
import json
import signal
import socket
import sys
import urllib.request

import pytest
from django.core.files.storage import default_storage
from rest_framework.test import APIClient

from tests.webapp.helpers import jpeg_bytes, log_events, running_process, service_env, wait_for, write_photo_dir
from webapp.core import services
from webapp.core.models import Job, Photo

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


def finished_job(job_id):
    job = Job.objects.get(pk=job_id)
    return job if job.status in (Job.Status.SUCCEEDED, Job.Status.FAILED) else None


def test_worker_round_trips_thumbnail_and_enhancement_over_redis(
    celery_worker, tiny_checkpoint, second_checkpoint
):
    client = APIClient()
    photo, _ = services.photo_create(data=jpeg_bytes(width=80, height=60, seed=21), title="roundtrip")
    wait_for(lambda: Photo.objects.get(pk=photo.pk).thumbnail, 60, "the thumbnail (cpu queue)", celery_worker.log_path)

    first, _ = services.model_version_register(checkpoint_path=tiny_checkpoint, name="first", activate=True)
    jobs = [
        client.post("/api/enhancements/", {"photo": photo.pk, "style": style, "strength": 1}, format="json").json()
        for style in ("bright", "warm")
    ]
    for job in jobs:
        done = wait_for(lambda job_id=job["id"]: finished_job(job_id), 120, "an enhancement (gpu queue)",
                        celery_worker.log_path)
        assert done.status == Job.Status.SUCCEEDED, done.error
        assert done.model_version == first
        assert default_storage.exists(done.result["image_url"].removeprefix("/media/"))

    # Switch the active model: the same worker process serves it without a restart.
    second, _ = services.model_version_register(checkpoint_path=second_checkpoint, name="second", activate=True)
    job = client.post("/api/enhancements/", {"photo": photo.pk, "style": "bright"}, format="json").json()
    done = wait_for(lambda: finished_job(job["id"]), 120, "an enhancement after the switch", celery_worker.log_path)
    assert done.status == Job.Status.SUCCEEDED and done.model_version == second

    loads = log_events(celery_worker.log_path, "model_loaded")
    assert [event["model_version"] for event in loads] == ["first", "second"]  # once per version
    assert len({event["process"] for event in loads}) == 1

    report = client.get("/healthz").json()
    assert report["status"] == "ok" and celery_worker.hostname in report["checks"]["workers"]["names"]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def http_json(url: str, payload: dict | None = None) -> dict:
    data = json.dumps(payload).encode() if payload is not None else None
    request = urllib.request.Request(url, data=data, headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.loads(response.read())


def server_answers(url: str) -> bool:
    try:
        urllib.request.urlopen(url, timeout=2).close()
        return True
    except OSError:
        return False


def test_rundemo_serves_a_seeded_demo_with_its_own_worker(tmp_path, tiny_checkpoint):
    """The README's demo path end to end: SQLite, the filesystem broker, one local worker."""
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    photos = write_photo_dir(tmp_path / "photos", ["kodak24", "mcmaster18"])
    env = service_env(
        DEBUG="1", PIENET_VAR_DIR=tmp_path / "var", PIENET_PHOTOS_DIR=photos, PIENET_CHECKPOINT=tiny_checkpoint
    )
    log_path = tmp_path / "rundemo.log"
    command = [sys.executable, "manage.py", "rundemo", "--port", str(port)]
    with running_process(command, env, log_path) as process:
        wait_for(lambda: server_answers(f"{base}/"), 120, "the demo server", log_path)

        def thumbnails_done():
            listed = http_json(f"{base}/api/photos/?demo=1")
            return listed if listed and all(photo["thumbnail_url"] for photo in listed) else None

        demo_photos = wait_for(thumbnails_done, 120, "demo thumbnails from the local worker", log_path)
        assert len(demo_photos) == 2
        job = http_json(f"{base}/api/enhancements/", {"photo": demo_photos[0]["id"], "style": "warm"})

        def job_done():
            polled = http_json(f"{base}/api/jobs/{job['id']}/")
            return polled if polled["status"] in ("succeeded", "failed") else None

        polled = wait_for(job_done, 120, "the demo enhancement", log_path)
        assert polled["status"] == "succeeded", polled["error"]
        with urllib.request.urlopen(base + polled["result"]["image_url"], timeout=10) as image:
            assert image.read(2) == b"\xff\xd8"
        def healthy():  # the single demo worker answers pings between its tasks
            answer = http_json(f"{base}/healthz")
            return answer if answer["status"] == "ok" else None

        report = wait_for(healthy, 120, "a healthy demo", log_path)
        assert report["checks"]["broker"]["mode"] == "embedded"
        assert report["checks"]["workers"]["names"][0].startswith("demo@")
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=60) == 0
    assert not (tmp_path / "var" / "media" / "photos").exists()  # imported photos are never copied
