"""What this issue added to the core app: `import_photos`, screen renditions, and enhancements
with an arbitrary preference vector (cached by the vector's hash, model version and strength)."""
import io

import numpy as np
import pytest
from django.core.files.storage import default_storage
from django.core.management import call_command
from django.core.management.base import CommandError
from PIL import Image

from ml.images import load_image_uint8
from tests.webapp.helpers import jpeg_bytes, write_photo_dir
from webapp.core import services
from webapp.core.models import Enhancement, Job, Photo

pytestmark = pytest.mark.django_db


def rotated_jpeg(width: int, height: int) -> bytes:
    """A landscape JPEG whose EXIF orientation (6) says: show it rotated a quarter turn, as portrait."""
    exif = Image.Exif()
    exif[0x0112] = 6
    buffer = io.BytesIO()
    Image.fromarray(np.full((height, width, 3), 120, np.uint8)).save(buffer, format="JPEG", exif=exif)
    return buffer.getvalue()


def test_import_photos_deduplicates_applies_exif_and_makes_renditions(tmp_path, settings, capsys):
    settings.PIENET_THUMBNAIL_SIZE = 32
    settings.PIENET_SCREEN_SIZE = 48
    folder = tmp_path / "photos"
    (folder / "trip").mkdir(parents=True)
    (folder / "trip" / "a.jpg").write_bytes(jpeg_bytes(80, 60, seed=1))
    (folder / "trip" / "copy-of-a.jpg").write_bytes(jpeg_bytes(80, 60, seed=1))
    (folder / "turned.jpg").write_bytes(rotated_jpeg(90, 30))
    (folder / "notes.txt").write_text("not a photo")
    (folder / "broken.png").write_bytes(b"\x89PNG broken")

    call_command("import_photos", str(folder))
    out, err = capsys.readouterr()
    assert "2 new, 1 already there, 1 skipped" in out and "broken.png" in err
    turned = Photo.objects.get(title="turned")
    assert (turned.width, turned.height) == (30, 90)  # EXIF orientation applied
    assert Photo.objects.get(title="a").collection == "trip" and turned.source_path.endswith("turned.jpg")

    services.photo_make_thumbnail(photo_id=turned.pk)
    turned.refresh_from_db()
    screen = load_image_uint8(default_storage.open(turned.screen.name).read())
    thumbnail = load_image_uint8(default_storage.open(turned.thumbnail.name).read())
    assert screen.shape[:2] == (48, 16) and thumbnail.shape[:2] == (32, 11)

    call_command("import_photos", str(folder))
    assert "0 new, 3 already there" in capsys.readouterr().out


def test_import_photos_reads_a_manifest_and_refuses_bad_input(tmp_path):
    folder = write_photo_dir(tmp_path / "shared", ["kodak24", "bsd100"])
    call_command("import_photos", str(folder))
    assert sorted(Photo.objects.values_list("collection", flat=True)) == ["bsd100", "kodak24"]
    with pytest.raises(CommandError) as missing:
        call_command("import_photos", str(tmp_path / "nowhere"))
    assert missing.value.returncode == 2 and "is not a directory" in str(missing.value)


def test_vector_enhancements_are_cached_by_vector_model_and_strength(tiny_checkpoint, django_capture_on_commit_callbacks):
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


def test_photos_can_be_uploaded_in_the_admin(admin_client):
    from django.core.files.uploadedfile import SimpleUploadedFile

    def upload(data: bytes):
        return admin_client.post("/admin/core/photo/add/", {
            "upload": SimpleUploadedFile("beach.jpg", data, content_type="image/jpeg"), "title": "", "collection": "",
        })

    assert upload(jpeg_bytes(seed=3)).status_code == 302
    assert upload(jpeg_bytes(seed=3)).status_code == 302  # the same content again: still one photo
    photo = Photo.objects.get()
    assert (photo.title, photo.collection) == ("beach.jpg", "upload") and photo.image.name.startswith("photos/")
    refused = upload(b"not an image")
    assert refused.status_code == 200 and Photo.objects.count() == 1
    assert "errorlist" in refused.content.decode()
