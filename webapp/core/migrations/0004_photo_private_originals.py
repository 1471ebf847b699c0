"""Uploaded photos move out of the media storage (served under MEDIA_URL with SERVE_MEDIA=1) into private
storage: researchers see them only re-encoded, through /photos/<id>/original."""
import webapp.core.storage
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import migrations, models


def move_uploads(apps, schema_editor):
    Photo = apps.get_model("core", "Photo")
    private = webapp.core.storage.private_storage()
    for photo in Photo.objects.exclude(image="").iterator():
        name = photo.image.name
        if private.exists(name) or not default_storage.exists(name):
            continue  # moved already
        with default_storage.open(name, "rb") as stored:
            private.save(name, ContentFile(stored.read()))
        default_storage.delete(name)


class Migration(migrations.Migration):

    dependencies = [
        ("core", "0003_modelversion_created_by_modelversion_data_snapshot_and_more"),
    ]

    operations = [
        migrations.AlterField(
            model_name="photo",
            name="image",
            field=models.FileField(blank=True, max_length=255, storage=webapp.core.storage.private_storage,
                                   upload_to="photos/"),
        ),
        migrations.RunPython(move_uploads, migrations.RunPython.noop),
    ]
