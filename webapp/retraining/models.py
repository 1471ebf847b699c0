"""Retraining runs: one row per request, followed by the worker (status, stage, progress, log) and kept
afterwards with its data snapshot, recipe and evaluation next to the model version it registered."""
import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q

from webapp.core.models import ModelVersion


class RetrainingRun(models.Model):
    class Status(models.TextChoices):
        QUEUED = "queued"
        RUNNING = "running"
        SUCCEEDED = "succeeded"
        FAILED = "failed"
        CANCELLED = "cancelled"

    IN_PROGRESS = (Status.QUEUED, Status.RUNNING)

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.QUEUED)
    stage = models.CharField(max_length=40, blank=True, help_text="What the worker is doing (or was doing when the run ended).")
    progress = models.PositiveSmallIntegerField(default=0, help_text="Percent done, 0 to 100.")
    from_scratch = models.BooleanField(default=False)
    recipe = models.JSONField(default=dict, help_text="The full training recipe (defaults and overrides).")
    request_key = models.CharField(
        max_length=64, db_index=True, help_text="Hash of base model, recipe and labels: the same request is one run."
    )
    base_version = models.ForeignKey(
        ModelVersion, null=True, blank=True, on_delete=models.PROTECT, related_name="+",
        help_text="The active model when the run was requested (fine-tuned, or the sizes for from-scratch).",
    )
    candidate_version = models.ForeignKey(
        ModelVersion, null=True, blank=True, on_delete=models.PROTECT, related_name="retraining_runs",
        help_text="The version this run registered (only when it succeeded).",
    )
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    cancel_requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    cancel_requested = models.BooleanField(default=False)
    data_snapshot = models.JSONField(default=dict, blank=True)
    metrics = models.JSONField(default=dict, blank=True)
    log = models.TextField(blank=True)
    error = models.TextField(blank=True)
    out_dir = models.CharField(max_length=500, blank=True)
    attempts = models.PositiveIntegerField(default=0)
    heartbeat_at = models.DateTimeField(null=True, blank=True, help_text="Last sign of life from the worker.")
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            # One run at a time: a second request waits for (or duplicates) the first, never trains beside it.
            models.UniqueConstraint(
                models.Value(1), condition=Q(status__in=["queued", "running"]), name="retraining_one_run_at_a_time"
            ),
        ]

    def __str__(self) -> str:
        return f"retraining {str(self.id)[:8]} ({self.status})"

    @property
    def in_progress(self) -> bool:
        return self.status in self.IN_PROGRESS
