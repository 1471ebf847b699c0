"""Participant flow data: candidates (photo × style renderings), picking rounds, participants,
the sets they were shown, their picks (labels) and their preference vectors.

Everything a browser sees is addressed by opaque tokens; style names stay on the server so that
blind studies can reuse these pages.
"""
import secrets
import uuid

import numpy as np
from django.db import models
from django.db.models import Q

from webapp.core.models import Job, ModelVersion, Photo


def new_token() -> str:
    return secrets.token_urlsafe(18)


def new_pseudonym() -> str:
    """Internal participant name used everywhere instead of recruitment ids (e.g. P-7K3MZQ2D9X)."""
    alphabet = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"
    return "P-" + "".join(secrets.choice(alphabet) for _ in range(10))


class Candidate(models.Model):
    """One photo rendered in one style, with its embedding computed once when it was made.

    `kind` says where the style comes from: a retouching user of `ml.styles` (needs no model) or
    PieNet with a training user's vector from a checkpoint (`model_version` made it). The embedding
    belongs to `embedding_model_version`: a preference vector is a mean of these stored vectors.
    """

    class Kind(models.TextChoices):
        RETOUCH = "retouch"
        PIENET = "pienet"

    photo = models.ForeignKey(Photo, on_delete=models.CASCADE, related_name="candidates")
    kind = models.CharField(max_length=16, choices=Kind.choices)
    style = models.CharField(max_length=100)
    model_version = models.ForeignKey(
        ModelVersion, null=True, blank=True, on_delete=models.PROTECT, related_name="+",
        help_text="The model that rendered a PieNet candidate (empty for retouching users).",
    )
    image = models.FileField(max_length=255)
    thumbnail = models.FileField(max_length=255)
    embedding = models.BinaryField(null=True, blank=True, help_text="float32 little-endian bytes.")
    embedding_model_version = models.ForeignKey(
        ModelVersion, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["photo_id", "kind", "style"]
        constraints = [
            models.UniqueConstraint(
                fields=["photo", "style"], condition=Q(kind="retouch"), name="participants_one_retouch_render"
            ),
            models.UniqueConstraint(
                fields=["photo", "style", "model_version"], condition=Q(kind="pienet"),
                name="participants_one_pienet_render",
            ),
            models.CheckConstraint(
                condition=Q(kind="retouch", model_version__isnull=True) | Q(kind="pienet", model_version__isnull=False),
                name="participants_pienet_needs_model",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.photo} · {self.kind}:{self.style}"

    @property
    def label(self) -> str:
        """Row name in label exports: the style and, for PieNet renders, the model that made it."""
        suffix = f"@{self.model_version.name}" if self.model_version_id else ""
        return f"{self.photo.content_hash[:12]}:{self.kind}:{self.style}{suffix}"

    def embedding_array(self) -> np.ndarray | None:
        return None if self.embedding is None else np.frombuffer(bytes(self.embedding), dtype="<f4")


class PickingRound(models.Model):
    """What a participant is asked to do: consent text, how many picks, how sets look, which scheme.

    A minimal study: the later `studies` app owns full study configuration and will point at (or
    replace) these rows through `studies_ref`; participants already belong to a round, not a global.
    """

    class Scheme(models.TextChoices):
        MEAN = "mean", "Scheme 2: mean of the picks' embeddings"
        TRIPLET = "triplet", "Scheme 1: optimize against the non-picks (triplet loss)"

    slug = models.SlugField(unique=True)
    title = models.CharField(max_length=200)
    consent_text = models.TextField(help_text="Shown before anything else; plain text, paragraphs by blank lines.")
    min_picks = models.PositiveSmallIntegerField(default=10)
    max_picks = models.PositiveSmallIntegerField(default=20)
    set_size = models.PositiveSmallIntegerField(default=8, help_text="Images in one set (grid).")
    scheme = models.CharField(max_length=16, choices=Scheme.choices, default=Scheme.MEAN)
    preview_count = models.PositiveSmallIntegerField(
        default=3, help_text="Photos enhanced for the preview (0: none, e.g. when a study's trials follow)."
    )
    completion_url = models.URLField(blank=True, help_text="Where to send people at the end (e.g. Prolific's).")
    is_open = models.BooleanField(default=True)
    studies_ref = models.CharField(max_length=100, blank=True, help_text="Reserved for the studies app.")
    pool_photos = models.ManyToManyField(
        Photo, blank=True, related_name="+", help_text="Photos sets are drawn from; empty: every photo with candidates."
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.CheckConstraint(
                condition=Q(min_picks__gte=1) & Q(max_picks__gte=models.F("min_picks")), name="participants_pick_range"
            ),
            models.CheckConstraint(condition=Q(set_size__gte=2), name="participants_set_size"),
        ]

    def __str__(self) -> str:
        return self.title


class Participant(models.Model):
    """An anonymous person in one round. Recruitment ids are kept only here; all else uses `pseudonym`."""

    class Source(models.TextChoices):
        DIRECT = "direct"
        PROLIFIC = "prolific"
        MTURK = "mturk"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    picking_round = models.ForeignKey(PickingRound, on_delete=models.PROTECT, related_name="participants")
    pseudonym = models.CharField(max_length=20, unique=True, default=new_pseudonym)
    source = models.CharField(max_length=16, choices=Source.choices, default=Source.DIRECT)
    recruitment_id = models.CharField(max_length=100, blank=True, help_text="PROLIFIC_PID or MTurk workerId.")
    recruitment_params = models.JSONField(default=dict, blank=True)
    consented_at = models.DateTimeField()
    finished_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["picking_round", "source", "recruitment_id"], condition=~Q(recruitment_id=""),
                name="participants_recruit_once",
            ),
        ]

    def __str__(self) -> str:
        return self.pseudonym


class PickSet(models.Model):
    """One grid shown to a participant. At most one is open (not submitted) per participant."""

    participant = models.ForeignKey(Participant, on_delete=models.CASCADE, related_name="sets")
    number = models.PositiveIntegerField()
    created_at = models.DateTimeField(auto_now_add=True)
    submitted_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["participant", "number"]
        constraints = [
            models.UniqueConstraint(fields=["participant", "number"], name="participants_set_number"),
            models.UniqueConstraint(
                fields=["participant"], condition=Q(submitted_at__isnull=True), name="participants_one_open_set"
            ),
        ]


class SetItem(models.Model):
    """A candidate shown in a set: the label row. `liked` is True for a pick; when the set is
    submitted every item not picked becomes False (a negative), each with its decision time."""

    pick_set = models.ForeignKey(PickSet, on_delete=models.CASCADE, related_name="items")
    candidate = models.ForeignKey(Candidate, on_delete=models.PROTECT, related_name="set_items")
    photo = models.ForeignKey(Photo, on_delete=models.CASCADE, related_name="+")
    position = models.PositiveSmallIntegerField()
    token = models.CharField(max_length=32, unique=True, default=new_token)
    liked = models.BooleanField(null=True)
    decided_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["pick_set", "position"]
        constraints = [
            models.UniqueConstraint(fields=["pick_set", "position"], name="participants_item_position"),
            models.UniqueConstraint(fields=["pick_set", "photo"], name="participants_photo_once_per_set"),
            models.UniqueConstraint(fields=["pick_set", "candidate"], name="participants_candidate_once_per_set"),
        ]


class PreferenceVector(models.Model):
    """A participant's vector in a model's embedding space, with how consistent the picks were."""

    participant = models.ForeignKey(Participant, on_delete=models.CASCADE, related_name="vectors")
    model_version = models.ForeignKey(ModelVersion, on_delete=models.PROTECT, related_name="+")
    scheme = models.CharField(max_length=16, choices=PickingRound.Scheme.choices)
    vector = models.BinaryField(help_text="float32 little-endian bytes.")
    consistency = models.FloatField(help_text="Mean cosine similarity of the picks to their mean.")
    positives = models.PositiveIntegerField()
    negatives = models.PositiveIntegerField()
    job = models.OneToOneField(Job, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(fields=["participant", "model_version"], name="participants_one_vector_per_model"),
        ]

    def vector_array(self) -> np.ndarray:
        return np.frombuffer(bytes(self.vector), dtype="<f4")


class PreviewItem(models.Model):
    """A photo the participant did not pick, enhanced with their vector (a core enhancement job)."""

    preference = models.ForeignKey(PreferenceVector, on_delete=models.CASCADE, related_name="previews")
    photo = models.ForeignKey(Photo, on_delete=models.CASCADE, related_name="+")
    job = models.ForeignKey(Job, on_delete=models.CASCADE, related_name="+")
    position = models.PositiveSmallIntegerField()

    class Meta:
        ordering = ["preference", "position"]
        constraints = [
            models.UniqueConstraint(fields=["preference", "photo"], name="participants_preview_photo_once"),
        ]
