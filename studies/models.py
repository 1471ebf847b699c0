"""Blind preference studies (the paper's Sec. 4.3 / Table 2): a study wraps a picking round of the
participant flow, then shows each participant trials — one photo enhanced by every compared method,
in a counterbalanced order — and records one vote per trial.

Method identities never leave the server: participants see trials and options only through random
tokens; which option is which method is stored here and exported to researchers only.
"""
import secrets

from django.conf import settings
from django.db import models
from django.db.models import Q

from webapp.core.models import Job, ModelVersion, Photo
from webapp.participants.models import Participant, PickingRound, new_token


def new_seed() -> int:
    return secrets.randbelow(2**31)


class Study(models.Model):
    """What researchers configure. Picking (pool, pick range, set size, scheme) lives in `picking_round`,
    which points back here through its `studies_ref`."""

    slug = models.SlugField(max_length=40, unique=True)
    title = models.CharField(max_length=200)
    consent_text = models.TextField(help_text="Shown before anything else; plain text, paragraphs by blank lines.")
    instructions = models.TextField(help_text="Shown before the first trial (what to choose, attention checks).")
    picking_round = models.OneToOneField(PickingRound, on_delete=models.PROTECT, related_name="study")
    pool_styles = models.JSONField(
        default=list, blank=True, help_text="Retouching users (ml.styles) the picking candidates are rendered in."
    )
    voting_photos = models.ManyToManyField(Photo, related_name="+", help_text="Disjoint from the picking pool.")
    model_version = models.ForeignKey(
        ModelVersion, null=True, blank=True, on_delete=models.PROTECT, related_name="+",
        help_text="The model every PieNet method and preference vector of this study uses.",
    )
    trials_per_participant = models.PositiveSmallIntegerField(default=10)
    attention_checks = models.PositiveSmallIntegerField(
        default=2, help_text="Extra trials where one option says “Do not choose this one”; they are not counted as votes."
    )
    max_failed_checks = models.PositiveSmallIntegerField(
        default=0, help_text="A participant who chooses the degraded option more often than this is excluded."
    )
    participant_quota = models.PositiveIntegerField(default=50, help_text="Completed participants wanted.")
    completion_code = models.CharField(max_length=64, blank=True)
    completion_url = models.URLField(
        max_length=500, blank=True, help_text="Where to send people who finished; {code} is replaced by the code."
    )
    failed_code = models.CharField(max_length=64, blank=True, help_text="Code for people who failed the checks.")
    failed_url = models.URLField(max_length=500, blank=True)
    is_open = models.BooleanField(default=False)
    seed = models.BigIntegerField(default=new_seed, help_text="Seeds the counterbalanced orders.")
    trials_assigned = models.PositiveIntegerField(default=0, help_text="Counted trials handed out so far.")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name_plural = "studies"
        permissions = [("run_studies", "Can configure studies, see their results and export their data")]
        constraints = [
            models.CheckConstraint(condition=Q(trials_per_participant__gte=1), name="studies_some_trials"),
        ]

    def __str__(self) -> str:
        return self.title


class StudyMethod(models.Model):
    """One compared method. `kind` says how an option is rendered; `style` names the retouching user
    (ml.styles) or the checkpoint's training user (PieNet with that user's vector)."""

    class Kind(models.TextChoices):
        PIENET_PERSONAL = "pienet_personal", "PieNet with the participant's vector"
        PIENET_MEAN = "pienet_mean", "PieNet with the mean of the model's training vectors"
        PIENET_STYLE = "pienet_style", "PieNet with a training user's vector from the checkpoint"
        RETOUCH = "retouch", "Retouching user of ml.styles (preset, classical, photographer)"

    study = models.ForeignKey(Study, on_delete=models.CASCADE, related_name="methods")
    kind = models.CharField(max_length=32, choices=Kind.choices)
    style = models.CharField(max_length=100, blank=True)
    label = models.CharField(max_length=100, help_text="Name in results and exports (never shown to participants).")
    order = models.PositiveSmallIntegerField()

    class Meta:
        ordering = ["study", "order"]
        constraints = [
            models.UniqueConstraint(fields=["study", "kind", "style"], name="studies_method_once"),
            models.UniqueConstraint(fields=["study", "label"], name="studies_method_label_once"),
            models.UniqueConstraint(fields=["study", "order"], name="studies_method_order"),
            models.CheckConstraint(
                condition=Q(kind__in=["pienet_personal", "pienet_mean"], style="")
                | (Q(kind__in=["pienet_style", "retouch"]) & ~Q(style="")),
                name="studies_method_style_when_needed",
            ),
        ]

    def __str__(self) -> str:
        return self.label

    @property
    def key(self) -> str:
        return f"{self.kind}:{self.style}" if self.style else self.kind

    @property
    def needs_model(self) -> bool:
        return self.kind != self.Kind.RETOUCH


class StudyParticipant(models.Model):
    """A participant of the study's picking round who went on to (or will go on to) the trials."""

    participant = models.OneToOneField(Participant, on_delete=models.CASCADE, related_name="study_entry")
    study = models.ForeignKey(Study, on_delete=models.CASCADE, related_name="participants")
    render_job = models.OneToOneField(Job, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    started_at = models.DateTimeField(auto_now_add=True)
    completed_at = models.DateTimeField(null=True, blank=True)
    failed_checks = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["study", "started_at"]

    def __str__(self) -> str:
        return self.participant.pseudonym

    @property
    def passed_checks(self) -> bool:
        return self.failed_checks <= self.study.max_failed_checks


class Trial(models.Model):
    """One photo shown as every method's result. `sequence` numbers the counted trials study-wide and
    picks the trial's row of a Latin square; attention checks have none and are not counted."""

    study = models.ForeignKey(Study, on_delete=models.CASCADE, related_name="trials")
    participant = models.ForeignKey(StudyParticipant, on_delete=models.CASCADE, related_name="trials")
    number = models.PositiveSmallIntegerField(help_text="1-based order in which the participant sees it.")
    photo = models.ForeignKey(Photo, on_delete=models.PROTECT, related_name="+")
    is_check = models.BooleanField(default=False)
    sequence = models.PositiveIntegerField(null=True, blank=True)
    token = models.CharField(max_length=32, unique=True, default=new_token)
    shown_at = models.DateTimeField(null=True, blank=True, help_text="First sent to the participant, ready.")

    class Meta:
        ordering = ["participant", "number"]
        constraints = [
            models.UniqueConstraint(fields=["participant", "number"], name="studies_trial_number"),
            models.UniqueConstraint(fields=["participant", "photo"], name="studies_photo_once_per_participant"),
            models.UniqueConstraint(
                fields=["study", "sequence"], condition=Q(sequence__isnull=False), name="studies_trial_sequence"
            ),
            models.CheckConstraint(
                condition=Q(is_check=True, sequence__isnull=True) | Q(is_check=False, sequence__isnull=False),
                name="studies_counted_trials_have_a_sequence",
            ),
        ]


class TrialOption(models.Model):
    """A method's rendering at a position of a trial; in a check, one option is `degraded` instead."""

    trial = models.ForeignKey(Trial, on_delete=models.CASCADE, related_name="options")
    position = models.PositiveSmallIntegerField()
    method = models.ForeignKey(StudyMethod, on_delete=models.PROTECT, related_name="options")
    degraded = models.BooleanField(default=False)
    token = models.CharField(max_length=32, unique=True, default=new_token)
    image = models.FileField(max_length=255, blank=True, help_text="Opaque name; served by token only.")

    class Meta:
        ordering = ["trial", "position"]
        constraints = [
            models.UniqueConstraint(fields=["trial", "position"], name="studies_option_position"),
            models.UniqueConstraint(fields=["trial", "method"], name="studies_method_once_per_trial"),
        ]


class Vote(models.Model):
    """The answer to a trial. One per trial, by the database (double submits, tabs, back button)."""

    trial = models.OneToOneField(Trial, on_delete=models.CASCADE, related_name="vote")
    option = models.ForeignKey(TrialOption, on_delete=models.PROTECT, related_name="+")
    response_ms = models.PositiveIntegerField(help_text="Measured by the page: images shown to choice.")
    server_ms = models.PositiveIntegerField(null=True, blank=True, help_text="Trial first sent to vote received.")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["trial"]
