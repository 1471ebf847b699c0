"""Photos: stored once per content, renditions (thumbnail, screen), `import_photos` and uploads in the admin."""

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
from webapp.core.models import Photo

pytestmark = pytest.mark.django_db


def rotated_jpeg(width: int, height: int) -> bytes:
    """A landscape JPEG whose EXIF orientation (6) says: show it rotated a quarter turn, as portrait."""
    exif = Image.Exif()
    exif[0x0112] = 6
    buffer = io.BytesIO()
    Image.fromarray(np.full((height, width, 3), 120, np.uint8)).save(buffer, format="JPEG", exif=exif)
    return buffer.getvalue()


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


def test_photos_can_be_uploaded_in_the_admin(admin_client):
    from django.core.files.uploadedfile import SimpleUploadedFile

    def upload(data: bytes):
        return admin_client.post(
            "/admin/core/photo/add/",
            {
                "upload": SimpleUploadedFile("beach.jpg", data, content_type="image/jpeg"),
                "title": "",
                "collection": "",
            },
        )

    assert upload(jpeg_bytes(seed=3)).status_code == 302
    assert upload(jpeg_bytes(seed=3)).status_code == 302  # the same content again: still one photo
    photo = Photo.objects.get()
    assert (photo.title, photo.collection) == ("beach.jpg", "upload") and photo.image.name.startswith("photos/")
    refused = upload(b"not an image")
    assert refused.status_code == 200 and Photo.objects.count() == 1
    assert "errorlist" in refused.content.decode()
