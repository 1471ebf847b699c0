"""Public demo data: visitors' photos and their renderings, reachable only through random tokens.

Nothing here is listed anywhere or addressed by a sequential id: a visitor's photo is an `Upload`
(its own files under demo/<token>/, not a core Photo, so it never shows up in the photo API), each
rendering a `Result` with a token of its own. Both are deleted after PIENET_DEMO_RETENTION_HOURS.
The uploaded bytes (with whatever EXIF they carry: places, names) are kept apart, in private storage
under a name of their own, so no media URL and no token reaches them.
"""
import secrets

from django.db import models

from webapp.core.models import Job, ModelVersion, Photo
from webapp.core.storage import private_storage


def new_token() -> str:
    """192 random bits, URL-safe: the link is the only key to a visitor's photo."""
    return secrets.token_urlsafe(24)


class Upload(models.Model):
    """A photo a visitor works on: their own upload (`original`) or one of the site's samples (`sample`)."""

    token = models.CharField(max_length=64, unique=True, default=new_token)
    original = models.FileField(
        max_length=255, blank=True, storage=private_storage, help_text="The uploaded bytes (never served back)."
    )
    sample = models.ForeignKey(Photo, null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    before = models.FileField(max_length=255, help_text="Upright screen-size JPEG shown as 'before'.")
    width = models.PositiveIntegerField()
    height = models.PositiveIntegerField()
    previews = models.JSONField(
        default=dict, blank=True, help_text="The style picker's thumbnails of this photo: style → stored file."
    )
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.CheckConstraint(
                condition=(models.Q(original="") & models.Q(sample__isnull=False))
                | (~models.Q(original="") & models.Q(sample__isnull=True)),
                name="demo_upload_has_one_source",
            ),
        ]


class Result(models.Model):
    """One rendering of an upload: a style (named, the visitor's own, or a blend) at a strength.

    `style_key` is canonical (a blend's parts in order, the visitor's vector by its hash), so asking
    again for the same look at the same strength returns the same rendering instead of a new job.
    """

    token = models.CharField(max_length=64, unique=True, default=new_token)
    upload = models.ForeignKey(Upload, on_delete=models.CASCADE, related_name="results")
    job = models.OneToOneField(Job, on_delete=models.CASCADE, related_name="+")
    style_key = models.CharField(max_length=255)
    label = models.CharField(max_length=255)
    spec = models.JSONField(help_text="What the worker renders: styles a and b, their mix, the visitor's vector.")
    strength = models.DecimalField(max_digits=3, decimal_places=2)
    image = models.FileField(max_length=255, blank=True, help_text="Full resolution, for download.")
    screen = models.FileField(max_length=255, blank=True, help_text="Screen-size copy for the comparison.")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(fields=["upload", "style_key", "strength"], name="demo_one_result_per_look"),
        ]


class StylePreview(models.Model):
    """A named style of a model version shown on a sample photo: the thumbnails of the style picker."""

    model_version = models.ForeignKey(ModelVersion, on_delete=models.CASCADE, related_name="+")
    style = models.CharField(max_length=100)
    image = models.FileField(max_length=255)
    change = models.FloatField(default=0, help_text="Mean absolute change of the sample's pixels (0 to 1).")
    showcase_rank = models.PositiveSmallIntegerField(
        null=True, blank=True, help_text="Order on the home page: 0 is the look farthest from the photo and the others."
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["model_version", "style"]
        constraints = [
            models.UniqueConstraint(fields=["model_version", "style"], name="demo_one_preview_per_style"),
        ]
