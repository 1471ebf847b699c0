"""Retraining from participants' labels: the app's write surface (HackSoft style: the admin, the API and the
task call these). The steps live by subject: `dataset` (the label export), `evaluation` (the candidate beside
the active model, the promotion policy) and `runner` (the worker side of a run).

Safety first: a run writes only into its own new folder, registers a model version only after training and
evaluation succeeded, and never touches the active model, which keeps serving whatever happens to the run.
One run at a time (a database constraint); the same request (same base model, recipe and labels) returns
the run already made instead of training twice; a run is cancelled between training steps; every request,
outcome, promotion and rollback goes to the audit log (core.AuditEvent).
"""
import hashlib
import json
import logging
from datetime import timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from ml.config import ConfigError
from webapp.core import selectors as core_selectors
from webapp.core import services as core_services
from webapp.core.errors import Conflict, ServiceError
from webapp.core.models import AuditEvent, ModelVersion
from webapp.retraining import selectors
from webapp.retraining.dataset import labels_check_minimum
from webapp.retraining.models import RetrainingRun
from webapp.retraining.runner import run_finish

logger = logging.getLogger(__name__)


def _merged(defaults: dict, overrides: dict) -> dict:
    """Site defaults (PIENET_RETRAIN_RECIPE) under the request's values, stage tables merged key by key."""
    merged = {**defaults, **overrides}
    for name in ("embedding", "pienet"):
        if isinstance(defaults.get(name), dict) and isinstance(overrides.get(name), dict):
            merged[name] = {**defaults[name], **overrides[name]}
    return merged


def recipe_resolve(*, from_scratch: bool, recipe: dict | None):
    from ml.training.finetune import FinetuneRecipe

    if recipe is not None and not isinstance(recipe, dict):
        raise ServiceError("The recipe must be a JSON object, e.g. {\"pienet\": {\"steps\": 2000}}.")
    try:
        return FinetuneRecipe.from_dict({**_merged(settings.PIENET_RETRAIN_RECIPE, recipe or {}),
                                         "from_scratch": from_scratch})
    except (ConfigError, TypeError) as error:
        raise ServiceError(f"Invalid recipe: {error}") from None


def _request_key(base: ModelVersion | None, recipe: dict, labels_digest: str) -> str:
    """What makes two requests the same work: the base model's file, the recipe and the labels."""
    return hashlib.sha256(json.dumps(
        {"base": base.sha256 if base else None, "recipe": recipe, "labels": labels_digest}, sort_keys=True
    ).encode()).hexdigest()


def _run_create(*, key: str, base: ModelVersion | None, recipe: dict, from_scratch: bool, user) -> RetrainingRun:
    """A new queued run (audited, its task sent after the commit); Conflict while another is in progress."""
    current = selectors.run_in_progress()
    if current is not None:
        raise Conflict(f"Run {current.pk} is {current.status}; wait for it or cancel it before starting another.")
    try:
        with transaction.atomic():
            run = RetrainingRun.objects.create(
                from_scratch=from_scratch, recipe=recipe, request_key=key, base_version=base, requested_by=user,
            )
    except IntegrityError:
        raise Conflict("Another run was started at the same moment; wait for it or cancel it.") from None
    core_services.audit_record(
        action=AuditEvent.Action.TRAINING_REQUESTED, actor=user, model_version=base, run=str(run.pk),
        from_scratch=from_scratch,
    )
    from webapp.retraining.tasks import run_retraining

    run_retraining.delay_on_commit(str(run.pk))
    return run


def run_request(*, user, from_scratch: bool = False, recipe: dict | None = None) -> tuple[RetrainingRun, bool]:
    """Queue a run on the gpu queue; returns (run, created).

    The same request (same active model, recipe and labels) returns the run that already did or does the
    work; another request while a run is in progress raises Conflict.
    """
    resolved = recipe_resolve(from_scratch=from_scratch, recipe=recipe)
    base = core_selectors.active_model_version()
    if base is None and not from_scratch:
        raise ServiceError("No model is active, so there is nothing to fine-tune; train from scratch instead.")
    summary = selectors.label_summary()
    labels_check_minimum(summary)
    key = _request_key(base, resolved.to_dict(), summary.digest)
    with transaction.atomic():
        runs_fail_stale()
        same = selectors.run_for_request(key)
        if same is not None:
            return same, False
        run = _run_create(key=key, base=base, recipe=resolved.to_dict(), from_scratch=from_scratch, user=user)
    logger.info("retraining_requested", extra={"run": str(run.pk), "from_scratch": from_scratch})
    return run, True


def run_cancel(*, run: RetrainingRun, user) -> RetrainingRun:
    """A queued run stops at once; a running one at its next step (its folder is removed, nothing registered)."""
    with transaction.atomic():
        run = RetrainingRun.objects.select_for_update().get(pk=run.pk)
        if run.status == RetrainingRun.Status.QUEUED:
            RetrainingRun.objects.filter(pk=run.pk).update(
                status=RetrainingRun.Status.CANCELLED, cancel_requested=True, cancel_requested_by=user,
                finished_at=timezone.now(),
            )
            core_services.audit_record(action=AuditEvent.Action.TRAINING_CANCELLED, actor=user,
                                       model_version=run.base_version, run=str(run.pk))
        elif run.status == RetrainingRun.Status.RUNNING:
            RetrainingRun.objects.filter(pk=run.pk).update(cancel_requested=True, cancel_requested_by=user)
            core_services.audit_record(action=AuditEvent.Action.CANCEL_REQUESTED, actor=user,
                                       model_version=run.base_version, run=str(run.pk))
        else:
            raise ServiceError(f"This run has already {run.status}; there is nothing to cancel.")
    run.refresh_from_db()
    return run


def runs_fail_stale() -> int:
    """Runs whose worker stopped reporting (it died and the task was not redelivered) stop blocking new ones."""
    cutoff = timezone.now() - timedelta(minutes=settings.PIENET_RETRAIN_STALE_MINUTES)
    stale = list(RetrainingRun.objects.filter(status=RetrainingRun.Status.RUNNING, heartbeat_at__lt=cutoff))
    for run in stale:
        run_finish(run, RetrainingRun.Status.FAILED,
                   f"The worker sent no sign of life for {settings.PIENET_RETRAIN_STALE_MINUTES} minutes (it was lost).")
    return len(stale)
