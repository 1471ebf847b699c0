"""Real worker processes: Redis round trips (full stack) and `manage.py rundemo` (embedded default)."""
import http.cookiejar
import json
import re
import signal
import sys
import urllib.request

import pytest
from django.core.files.storage import default_storage
from rest_framework.test import APIClient

from tests.studies.helpers import researcher
from tests.webapp.helpers import (
    free_port, jpeg_bytes, log_events, running_process, service_env, wait_for, write_photo_dir,
)
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
    client.force_login(researcher())
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


class Visitor:
    """A browser of the public demo: cookies (session, CSRF) and the page's CSRF token on every write."""

    def __init__(self, base: str):
        self.base = base
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()))
        self.csrf_token = ""

    def page(self, path: str) -> str:
        with self.opener.open(self.base + path, timeout=10) as response:
            html = response.read().decode()
        found = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', html)
        self.csrf_token = found.group(1) if found else self.csrf_token
        return html

    def post(self, path: str, body: bytes, content_type: str) -> dict:
        headers = {"Content-Type": content_type, "X-CSRFToken": self.csrf_token, "Accept": "application/json"}
        request = urllib.request.Request(self.base + path, data=body, headers=headers)
        with self.opener.open(request, timeout=10) as response:
            return json.loads(response.read())

    def post_form(self, path: str, fields: dict) -> dict:
        boundary = "pienet-test-boundary"
        parts = [f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'
                 for name, value in fields.items()]
        body = ("".join(parts) + f"--{boundary}--\r\n").encode()
        return self.post(path, body, f"multipart/form-data; boundary={boundary}")

    def post_json(self, path: str, payload: dict) -> dict:
        return self.post(path, json.dumps(payload).encode(), "application/json")

    def get_json(self, path: str) -> dict:
        with self.opener.open(self.base + path, timeout=10) as response:
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

        visitor = Visitor(base)

        def samples_shown():  # the home page lists a sample once the local worker made its thumbnail
            return re.findall(r'data-sample="(\d+)"', visitor.page("/"))

        samples = wait_for(lambda: len(samples_shown()) == 2 and samples_shown(), 120, "demo thumbnails", log_path)
        upload = visitor.post_form("/api/demo/uploads/", {"sample": samples[0]})
        result = visitor.post_json(f"/api/demo/uploads/{upload['token']}/renders/", {"style": "warm"})

        def render_done():
            polled = visitor.get_json(f"/api/demo/results/{result['token']}/")
            return polled if polled["status"] in ("succeeded", "failed") else None

        polled = wait_for(render_done, 120, "the demo rendering", log_path)
        assert polled["status"] == "succeeded", polled["error"]
        with visitor.opener.open(base + polled["after_url"], timeout=10) as image:
            assert image.read(2) == b"\xff\xd8"
        def healthy():  # the single demo worker answers pings between its tasks
            answer = visitor.get_json("/healthz")
            return answer if answer["status"] == "ok" else None

        report = wait_for(healthy, 120, "a healthy demo", log_path)
        assert report["checks"]["broker"]["mode"] == "embedded"
        assert report["checks"]["workers"]["names"][0].startswith("demo@")
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=60) == 0
    assert not (tmp_path / "var" / "media" / "photos").exists()  # imported photos are never copied
