"""The JSON API as a researcher's script uses it: upload, request an enhancement, poll the job."""
import io

import numpy as np
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image
from rest_framework.test import APIClient

from tests.studies.helpers import researcher
from tests.webapp.helpers import jpeg_bytes
from webapp.core import services
from webapp.core.models import Job

pytestmark = pytest.mark.django_db


@pytest.fixture
def client():
    """A researcher: the platform's photo pool and its jobs are research material."""
    api = APIClient()
    api.force_login(researcher())
    return api


def upload(client, data: bytes, name: str = "photo.jpg"):
    return client.post("/api/photos/", {"image": SimpleUploadedFile(name, data)}, format="multipart")


def test_upload_creates_a_photo_once(client):
    data = jpeg_bytes(seed=11)
    first = upload(client, data)
    assert first.status_code == 201, first.content
    assert first.json()["width"] == 64 and first.json()["title"] == "photo.jpg"
    second = upload(client, data, name="again.jpg")
    assert second.status_code == 200 and second.json()["id"] == first.json()["id"]
    listed = client.get("/api/photos/").json()
    assert listed["count"] == 1 and [photo["id"] for photo in listed["results"]] == [first.json()["id"]]


def test_photo_lists_are_paginated(client):
    for seed in range(3):
        upload(client, jpeg_bytes(seed=40 + seed))
    first = client.get("/api/photos/?page_size=2").json()
    assert first["count"] == 3 and len(first["results"]) == 2 and first["next"]
    second = client.get(first["next"]).json()
    assert len(second["results"]) == 1 and second["next"] is None
    assert client.get("/api/photos/?page=9").status_code == 404


def test_upload_rejects_files_that_are_not_photos_or_too_big(client, settings):
    response = upload(client, b"hello, not an image", name="notes.txt")
    assert response.status_code == 400 and "image" in response.json()
    settings.PIENET_MAX_UPLOAD_BYTES = 100
    response = upload(client, jpeg_bytes(seed=12))
    assert response.status_code == 400 and "larger than" in response.json()["image"]


def test_enhancement_request_returns_a_job_to_poll(client, tiny_checkpoint, django_capture_on_commit_callbacks):
    photo_id = upload(client, jpeg_bytes(seed=13)).json()["id"]
    refused = client.post("/api/enhancements/", {"photo": photo_id, "style": "bright"}, format="json")
    assert refused.status_code == 400 and "No model is active" in refused.json()["detail"]

    services.model_version_register(checkpoint_path=tiny_checkpoint, activate=True)
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        accepted = client.post(
            "/api/enhancements/", {"photo": photo_id, "style": "bright", "strength": "0.8"}, format="json"
        )
    assert accepted.status_code == 202, accepted.content
    assert len(callbacks) == 1
    job = accepted.json()
    assert job["status"] == "queued" and job["params"] == {"style": "bright", "strength": "0.80"}

    services.enhancement_job_run(job_id=job["id"])
    polled = client.get(f"/api/jobs/{job['id']}/").json()
    assert polled["status"] == "succeeded" and polled["progress"] == 100
    image = client.get(polled["result"]["image_url"])
    assert image.status_code == 200 and b"".join(image.streaming_content)[:2] == b"\xff\xd8"


def test_unknown_things_give_clear_errors(client, tiny_checkpoint):
    services.model_version_register(checkpoint_path=tiny_checkpoint, activate=True)
    assert client.get("/api/jobs/00000000-0000-0000-0000-000000000000/").status_code == 404
    response = client.post("/api/enhancements/", {"photo": 999, "style": "bright"}, format="json")
    assert response.status_code == 404
    photo_id = upload(client, jpeg_bytes(seed=14)).json()["id"]
    response = client.post("/api/enhancements/", {"photo": photo_id, "style": "noir"}, format="json")
    assert response.status_code == 400 and "Unknown style 'noir'" in response.json()["detail"]


def test_model_registry_endpoints(client, tiny_checkpoint, second_checkpoint):
    assert client.get("/api/models/active/").status_code == 404
    services.model_version_register(checkpoint_path=tiny_checkpoint, name="a", activate=True)
    services.model_version_register(checkpoint_path=second_checkpoint, name="b")
    listed = {(version["name"], version["status"]) for version in APIClient().get("/api/models/").json()["results"]}
    assert listed == {("a", "active"), ("b", "candidate")}
    assert client.get("/api/models/active/").json()["styles"] == ["bright", "warm"]


def test_full_size_photos_are_fresh_pixels_for_researchers_only(client, photo_dir):
    """A JPEG with a script appended after its image (a polyglot) and EXIF comes back as pixels alone."""
    buffer = io.BytesIO()
    rows, columns = np.mgrid[0:48, 0:64]
    pixels = np.stack([rows * 5, columns * 4, (rows + columns) * 2], axis=-1).astype(np.uint8)  # smooth
    exif = Image.Exif()
    exif[0x013B] = "Someone"  # Artist
    Image.fromarray(pixels).save(buffer, format="JPEG", quality=95, exif=exif)
    polyglot = buffer.getvalue() + b"<script>alert(1)</script>"
    uploaded = upload(client, polyglot).json()
    response = client.get(uploaded["original_url"])
    assert response.status_code == 200 and response["Content-Type"] == "image/jpeg"
    served = response.content
    assert b"<script>" not in served and b"Someone" not in served and served != polyglot
    assert np.abs(np.asarray(Image.open(io.BytesIO(served)), dtype=int) - pixels).mean() < 4
    imported, _ = services.photo_import_file(path=photo_dir / "bsd100" / "img2.jpg")
    assert client.get(f"/photos/{imported.pk}/original").status_code == 200
    assert APIClient().get(f"/photos/{imported.pk}/original").status_code == 403


def test_openapi_schema_documents_the_api(client):
    response = client.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert response.status_code == 200
    paths = response.json()["paths"]
    for path in ("/api/photos/", "/api/enhancements/", "/api/jobs/{job_id}/", "/api/models/active/"):
        assert path in paths
    assert Job.objects.count() == 0


def test_openapi_schema_documents_lists_as_pages(client):
    """The lists answer {count, next, previous, results}; the docs must say so, not promise a bare array."""
    schema = client.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json").json()
    components = schema["components"]["schemas"]
    for path in ("/api/photos/", "/api/models/", "/api/retraining/runs/", "/api/retraining/audit/", "/api/studies/"):
        operation = schema["paths"][path]["get"]
        assert operation["operationId"].endswith("_list"), path
        assert {"page", "page_size"} <= {parameter["name"] for parameter in operation["parameters"]}, path
        body = operation["responses"]["200"]["content"]["application/json"]["schema"]
        page = components[body["$ref"].rsplit("/", 1)[1]]
        assert set(page["properties"]) == {"count", "next", "previous", "results"}, path
        assert page["properties"]["results"]["type"] == "array", path
