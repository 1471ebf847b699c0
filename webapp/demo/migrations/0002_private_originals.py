"""Uploaded originals move out of the media storage (served under MEDIA_URL with SERVE_MEDIA=1) into
private storage, under names that do not contain the upload's token."""
import secrets

import webapp.core.storage
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import migrations, models


def move_originals(apps, schema_editor):
    Upload = apps.get_model("demo", "Upload")
    private = webapp.core.storage.private_storage()
    for upload in Upload.objects.exclude(original="").iterator():
        name = upload.original.name
        if private.exists(name) or not default_storage.exists(name):
            continue  # moved already, or deleted with its upload's folder
        with default_storage.open(name, "rb") as stored:
            extension = name.rsplit(".", 1)[-1]
            moved = private.save(f"demo/{secrets.token_urlsafe(24)}.{extension}", ContentFile(stored.read()))
        Upload.objects.filter(pk=upload.pk).update(original=moved)
        default_storage.delete(name)


class Migration(migrations.Migration):

    dependencies = [
        ("demo", "0001_initial"),
    ]

    operations = [
        migrations.AlterField(
            model_name="upload",
            name="original",
            field=models.FileField(
                blank=True, help_text="The uploaded bytes (never served back).", max_length=255,
                storage=webapp.core.storage.private_storage, upload_to="",
            ),
        ),
        migrations.RunPython(move_originals, migrations.RunPython.noop),
    ]
