"""Platform data: photos, the model registry, jobs the browser polls, and cached enhancements."""
import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q

from webapp.core.storage import private_storage


class ModelVersion(models.Model):
    """A registered checkpoint. Exactly one is active; jobs pin the version they were asked with."""

    class Status(models.TextChoices):
        CANDIDATE = "candidate"
        ACTIVE = "active"
        RETIRED = "retired"

    name = models.CharField(max_length=100, unique=True)
    checkpoint_path = models.CharField(max_length=500)
    sha256 = models.CharField(max_length=64, unique=True)
    config = models.JSONField(default=dict, blank=True)
    styles = models.JSONField(default=list, blank=True, help_text="Names of the styles stored in the checkpoint.")
    metrics = models.JSONField(default=dict, blank=True)
    notes = models.TextField(blank=True)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.CANDIDATE)
    parent = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="children",
        help_text="The model this version was retrained from (empty: trained outside the platform or from scratch).",
    )
    recipe = models.JSONField(default=dict, blank=True, help_text="Training settings of a retrained version.")
    data_snapshot = models.JSONField(
        default=dict, blank=True, help_text="Which labels a retrained version learned from, with their counts."
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    activated_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(fields=["status"], condition=Q(status="active"), name="core_single_active_model"),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.status})"


class AuditEvent(models.Model):
    """Who trained, promoted or rolled back which model, and when. Written by services, never edited."""

    class Action(models.TextChoices):
        TRAINING_REQUESTED = "training_requested"
        TRAINING_SUCCEEDED = "training_succeeded"
        TRAINING_FAILED = "training_failed"
        TRAINING_CANCELLED = "training_cancelled"
        CANCEL_REQUESTED = "cancel_requested"
        PROMOTED = "promoted"
        ROLLED_BACK = "rolled_back"

    action = models.CharField(max_length=32, choices=Action.choices)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    actor_name = models.CharField(
        max_length=150, help_text="Kept when the account is deleted; 'system' for automatic actions."
    )
    model_version = models.ForeignKey(
        ModelVersion, null=True, blank=True, on_delete=models.SET_NULL, related_name="audit_events"
    )
    previous_version = models.ForeignKey(
        ModelVersion, null=True, blank=True, on_delete=models.SET_NULL, related_name="+",
        help_text="The version that was active before a promotion or rollback.",
    )
    details = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.created_at:%Y-%m-%d %H:%M} {self.actor_name} {self.action}"


class Photo(models.Model):
    """An input photo, identified by the SHA-256 of its bytes.

    Uploads are stored in private storage (`image`: no URL serves the uploaded bytes); photos imported
    from the photo directory are read in place (`source_path`) and never copied.
    """

    content_hash = models.CharField(max_length=64, unique=True)
    title = models.CharField(max_length=200, blank=True)
    collection = models.CharField(max_length=100, blank=True)
    image = models.FileField(upload_to="photos/", max_length=255, blank=True, storage=private_storage)
    source_path = models.CharField(max_length=500, blank=True)
    width = models.PositiveIntegerField()
    height = models.PositiveIntegerField()
    thumbnail = models.FileField(max_length=255, blank=True)
    screen = models.FileField(
        max_length=255, blank=True, help_text="Rendition for showing on a screen (long side PIENET_SCREEN_SIZE)."
    )
    is_demo = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=(Q(image="") & ~Q(source_path="")) | (~Q(image="") & Q(source_path="")),
                name="core_photo_has_one_source",
            ),
        ]

    def __str__(self) -> str:
        return self.title or self.content_hash[:12]


class Job(models.Model):
    """Background work a user waits for. The browser polls it by this id, never by a Celery id."""

    class Kind(models.TextChoices):
        """One kind per kind of work, named by the app that does it."""

        ENHANCE = "enhance", "Enhance a platform photo (core)"
        CANDIDATES = "candidates", "Render picking candidates (participants)"
        PREFERENCE = "preference", "Compute a preference vector (participants)"
        RECOMPUTE = "recompute", "Recompute vectors for a model (participants)"
        TRIALS = "trials", "Render a participant's trials (studies)"
        DEMO_RENDER = "demo_render", "Render a look of a demo photo (demo)"

    class Status(models.TextChoices):
        QUEUED = "queued"
        RUNNING = "running"
        SUCCEEDED = "succeeded"
        FAILED = "failed"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    kind = models.CharField(max_length=32, choices=Kind.choices)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.QUEUED)
    progress = models.PositiveSmallIntegerField(default=0, help_text="Percent done, 0 to 100.")
    params = models.JSONField(default=dict, blank=True)
    result = models.JSONField(default=dict, blank=True)
    error = models.TextField(blank=True)
    attempts = models.PositiveIntegerField(default=0)
    photo = models.ForeignKey(Photo, null=True, blank=True, on_delete=models.CASCADE, related_name="jobs")
    model_version = models.ForeignKey(
        ModelVersion, null=True, blank=True, on_delete=models.PROTECT, related_name="jobs"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["status", "updated_at"])]

    def __str__(self) -> str:
        return f"{self.kind} {self.id} ({self.status})"


class Enhancement(models.Model):
    """A rendered result, unique per (photo content, model version, style or vector, strength): computed once.

    Named styles come from the checkpoint (`style`); any other preference vector (a participant's)
    is identified by the SHA-256 of its float32 bytes (`vector_sha256`, with `style` left empty).
    """

    photo = models.ForeignKey(Photo, on_delete=models.CASCADE, related_name="enhancements")
    model_version = models.ForeignKey(ModelVersion, on_delete=models.PROTECT, related_name="enhancements")
    style = models.CharField(max_length=100, blank=True)
    vector_sha256 = models.CharField(max_length=64, blank=True, default="")
    strength = models.DecimalField(max_digits=3, decimal_places=2)
    image = models.FileField(max_length=255)
    width = models.PositiveIntegerField()
    height = models.PositiveIntegerField()
    seconds = models.FloatField(help_text="Inference time, for capacity planning.")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["photo", "model_version", "style", "vector_sha256", "strength"],
                name="core_enhancement_cache_key_v2",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.photo} / {self.model_version.name} / {self.style or self.vector_sha256[:12]} @ {self.strength}"
