"""Each kind of job gets its own kind: study trials and demo renderings were `enhance` jobs told apart by
their parameters (`study_participant`, `demo_result`)."""

from django.db import migrations, models

BY_PARAMETER = {"study_participant": "trials", "demo_result": "demo_render"}


def split_kinds(apps, schema_editor):
    Job = apps.get_model("core", "Job")
    for parameter, kind in BY_PARAMETER.items():
        Job.objects.filter(kind="enhance", params__has_key=parameter).update(kind=kind)


def merge_kinds(apps, schema_editor):
    Job = apps.get_model("core", "Job")
    Job.objects.filter(kind__in=list(BY_PARAMETER.values())).update(kind="enhance")


class Migration(migrations.Migration):
    dependencies = [("core", "0004_photo_private_originals")]

    operations = [
        migrations.AlterField(
            model_name="job",
            name="kind",
            field=models.CharField(
                choices=[
                    ("enhance", "Enhance a platform photo (core)"),
                    ("candidates", "Render picking candidates (participants)"),
                    ("preference", "Compute a preference vector (participants)"),
                    ("recompute", "Recompute vectors for a model (participants)"),
                    ("trials", "Render a participant's trials (studies)"),
                    ("demo_render", "Render a look of a demo photo (demo)"),
                ],
                max_length=32,
            ),
        ),
        migrations.RunPython(split_kinds, merge_kinds),
    ]
