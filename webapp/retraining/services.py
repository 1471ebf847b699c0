"""Retraining from participants' labels (HackSoft style: the admin, the API and the task call these).

Safety first: a run writes only into its own new folder, registers a model version only after training and
evaluation succeeded, and never touches the active model, which keeps serving whatever happens to the run.
One run at a time (a database constraint); the same request (same base model, recipe and labels) returns
the run already made instead of training twice; a run is cancelled between training steps; every request,
outcome, promotion and rollback goes to the audit log (core.AuditEvent).
"""
import hashlib
import json
import logging
import shutil
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from celery.exceptions import SoftTimeLimitExceeded
from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.db.models import F, Value
from django.db.models.functions import Concat
from django.utils import timezone

from ml.checkpoint import CheckpointError
from ml.config import ConfigError, ModelConfig
from ml.data.datasets import DatasetError, FiveKLayout
from ml.data.labels import LabelDataset, LabelDatasetWriter, UserLabels
from ml.images import ImageError, resize_image
from webapp.core import selectors as core_selectors
from webapp.core import services as core_services
from webapp.core.model_runtime import ModelUnavailable, enhancer_for
from webapp.core.models import AuditEvent, ModelVersion
from webapp.core.errors import Conflict, ServiceError
from webapp.core.imaging import stored_pixels
from webapp.participants.models import Candidate, Participant
from webapp.participants.services import CANDIDATE_SIZE, candidate_source
from webapp.retraining import selectors
from webapp.retraining.models import RetrainingRun
from webapp.retraining.selectors import MIN_NON_PICKS, LabelSummary

logger = logging.getLogger(__name__)

USER_FACING = (ServiceError, ConfigError, DatasetError, CheckpointError, ModelUnavailable, ImageError)
# Progress bands of the stages (percent): data, the two training stages, evaluation, registration.
BANDS = {"dataset": (2, 10), "finetune-embedding": (10, 40), "finetune-pienet": (40, 85), "evaluation": (85, 97)}


class RunCancelled(Exception):
    """An admin asked the run to stop; raised between steps."""


# --- Requests -------------------------------------------------------------------------------


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


def labels_check_minimum(summary: LabelSummary) -> None:
    """Refuse to train on too few labels, saying what the minimum is and how far the labels are from it."""
    min_participants, min_picks = settings.PIENET_RETRAIN_MIN_PARTICIPANTS, settings.PIENET_RETRAIN_MIN_PICKS
    if len(summary.eligible) >= min_participants and summary.picks >= min_picks:
        return
    raise ServiceError(
        f"Too few labels to retrain: a run needs at least {min_picks} picks from at least {min_participants} "
        f"participants who each picked {settings.PIENET_RETRAIN_MIN_PICKS_PER_PARTICIPANT} or more images and "
        f"left {MIN_NON_PICKS} or more unpicked. There are {summary.picks} picks from {len(summary.eligible)} such "
        f"participants ({len(summary.labels)} participants have labels)."
    )


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
    key = hashlib.sha256(json.dumps(
        {"base": base.sha256 if base else None, "recipe": resolved.to_dict(), "labels": summary.digest}, sort_keys=True
    ).encode()).hexdigest()
    with transaction.atomic():
        runs_fail_stale()
        same = RetrainingRun.objects.filter(request_key=key).exclude(
            status__in=[RetrainingRun.Status.FAILED, RetrainingRun.Status.CANCELLED]
        ).first()
        if same is not None:
            return same, False
        current = selectors.run_in_progress()
        if current is not None:
            raise Conflict(f"Run {current.pk} is {current.status}; wait for it or cancel it before starting another.")
        try:
            with transaction.atomic():
                run = RetrainingRun.objects.create(
                    from_scratch=from_scratch, recipe=resolved.to_dict(), request_key=key, base_version=base,
                    requested_by=user,
                )
        except IntegrityError:
            raise Conflict("Another run was started at the same moment; wait for it or cancel it.") from None
        core_services.audit_record(
            action=AuditEvent.Action.TRAINING_REQUESTED, actor=user, model_version=base, run=str(run.pk),
            from_scratch=from_scratch,
        )
        from webapp.retraining.tasks import run_retraining

        run_retraining.delay_on_commit(str(run.pk))
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
        _finish(run, RetrainingRun.Status.FAILED,
                f"The worker sent no sign of life for {settings.PIENET_RETRAIN_STALE_MINUTES} minutes (it was lost).")
    return len(stale)


# --- The worker side ------------------------------------------------------------------------


class Reporter:
    """Progress, heartbeat, log lines and the cancel check of one run, with few database writes."""

    WRITE_EVERY_S = 2.0

    def __init__(self, run_id):
        self.run_id = run_id
        self.last_write = 0.0

    def log(self, message: str) -> None:
        line = f"{timezone.now():%H:%M:%S} {message}\n"
        RetrainingRun.objects.filter(pk=self.run_id).update(log=Concat(F("log"), Value(line)))
        logger.info("retraining_log", extra={"run": str(self.run_id), "line": message})

    def stage(self, name: str, percent: int, message: str = "") -> None:
        RetrainingRun.objects.filter(pk=self.run_id).update(stage=name, progress=percent, heartbeat_at=timezone.now())
        self.log(message or name)
        self.check_cancel()

    def progress(self, name: str, fraction: float, force: bool = False) -> None:
        """Cancelling is checked every time (one indexed read); progress is written every few seconds."""
        self.check_cancel()
        now = time.monotonic()
        if not force and now - self.last_write < self.WRITE_EVERY_S:
            return
        self.last_write = now
        start, end = BANDS[name]
        RetrainingRun.objects.filter(pk=self.run_id).update(
            stage=name, progress=int(start + (end - start) * min(1.0, fraction)), heartbeat_at=timezone.now()
        )

    def check_cancel(self) -> None:
        if RetrainingRun.objects.filter(pk=self.run_id, cancel_requested=True).exists():
            raise RunCancelled()

    def training_step(self, stage: str, step: int, total: int, terms) -> None:
        """ml.training.finetune's on_step: about twenty log lines per stage, progress every few seconds."""
        if step % max(1, total // 20) == 0 or step == total:
            values = ", ".join(f"{name} {float(value):.4f}" for name, value in terms.items())
            self.log(f"{stage} step {step}/{total}: {values}")
        self.progress(stage, step / total, force=step == total)


@contextmanager
def _heartbeat(run_id, every_s: float = 60.0):
    """A sign of life every minute from a thread of its own, whatever the run is busy with (a long evaluation
    reports no steps), so that only a lost worker's run is ever taken for stale."""
    stop = threading.Event()

    def beat():
        try:
            while not stop.wait(every_s):
                RetrainingRun.objects.filter(pk=run_id, status=RetrainingRun.Status.RUNNING).update(
                    heartbeat_at=timezone.now()
                )
        finally:
            connection.close()  # this thread's own connection

    thread = threading.Thread(target=beat, name=f"heartbeat-{run_id}", daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join()


def _claim(run_id) -> RetrainingRun | None:
    """Mark the run running in a new attempt folder; None when there is nothing to do (finished, cancelled,
    or another worker is on it: a redelivered message while the first worker still reports)."""
    with transaction.atomic():
        run = RetrainingRun.objects.select_for_update().filter(pk=run_id).first()
        if run is None or not run.in_progress:
            return None
        fresh = timezone.now() - timedelta(minutes=settings.PIENET_RETRAIN_STALE_MINUTES)
        if run.status == RetrainingRun.Status.RUNNING and run.heartbeat_at and run.heartbeat_at > fresh:
            logger.warning("retraining_duplicate_delivery", extra={"run": str(run.pk)})
            return None
        run.attempts += 1
        run.status, run.stage, run.progress = RetrainingRun.Status.RUNNING, "starting", 1
        run.started_at = run.started_at or timezone.now()
        run.heartbeat_at = timezone.now()
        run.out_dir = str(Path(settings.PIENET_RETRAIN_DIR) / str(run.pk) / f"attempt-{run.attempts}")
        run.save(update_fields=["attempts", "status", "stage", "progress", "started_at", "heartbeat_at", "out_dir"])
    return run


def run_execute(*, run_id) -> None:
    """Worker side of `run_request`: labels → dataset folder → fine-tune → evaluate → register the candidate."""
    run = _claim(run_id)
    if run is None:
        return
    reporter = Reporter(run.pk)
    out_dir = Path(run.out_dir)
    try:
        with _heartbeat(run.pk):
            version, metrics = _train_evaluate_register(run, reporter, out_dir)
    except RunCancelled:
        _finish(run, RetrainingRun.Status.CANCELLED, "Cancelled by an admin; nothing was registered.")
        return
    except SoftTimeLimitExceeded:
        _finish(run, RetrainingRun.Status.FAILED,
                f"The run took longer than PIENET_RETRAIN_TIME_LIMIT ({settings.PIENET_RETRAIN_TIME_LIMIT} s).")
        return
    except Exception as error:  # noqa: BLE001  (any failure ends the run, recorded for the admin)
        logger.exception("retraining_failed", extra={"run": str(run.pk)})
        message = str(error) if isinstance(error, USER_FACING) else f"{type(error).__name__}: {error}"
        _finish(run, RetrainingRun.Status.FAILED, message)
        return
    _discard_training_data(out_dir)
    run = _finish(run, RetrainingRun.Status.SUCCEEDED, "", candidate=version, metrics=metrics)
    _auto_promote(run, version, metrics)


def _train_evaluate_register(run: RetrainingRun, reporter: Reporter, out_dir: Path):
    from ml.training.finetune import FinetuneRecipe, finetune

    recipe = FinetuneRecipe.from_dict(run.recipe)
    base = run.base_version
    reporter.stage("dataset", BANDS["dataset"][0], "building the dataset from the labels")
    snapshot = dataset_build(
        labels_dir=out_dir / "data", base=base, style_examples=recipe.style_examples, reporter=reporter
    )
    RetrainingRun.objects.filter(pk=run.pk).update(data_snapshot=snapshot)
    reporter.log(f"dataset: {snapshot['participants']} participants, {snapshot['picks']} picks, "
                 f"{snapshot['non_picks']} non-picks, {len(snapshot['styles'])} named styles, {snapshot['images']} images")
    if base is not None:
        enhancer_for(base)  # the base checkpoint must still be the registered file (hash checked) before training
    result = finetune(out_dir / "data", out_dir / "model", recipe,
                      base_checkpoint=base.checkpoint_path if base is not None else None,
                      device=settings.PIENET_DEVICE, on_step=reporter.training_step)
    reporter.stage("evaluation", BANDS["evaluation"][0], "evaluating on held-out labels and the benchmark")
    metrics = evaluate(checkpoint=result.checkpoint, labels=LabelDataset.open(out_dir / "data"), split=result.split,
                       reporter=reporter)
    reporter.stage("registering", BANDS["evaluation"][1], "registering the candidate version")
    version, _ = core_services.model_version_register(
        checkpoint_path=result.checkpoint, name=f"retrained-{timezone.now():%Y%m%d-%H%M%S}-{str(run.pk)[:8]}",
        notes=f"Retrained {'from scratch' if run.from_scratch else 'from ' + base.name} by run {run.pk}.",
    )
    ModelVersion.objects.filter(pk=version.pk).update(
        parent=base if not run.from_scratch else None, recipe=run.recipe, data_snapshot=snapshot,
        metrics=public_metrics(metrics), created_by=run.requested_by,
    )
    version.refresh_from_db()
    return version, metrics


def _finish(run: RetrainingRun, status: str, error: str, candidate: ModelVersion | None = None,
            metrics: dict | None = None) -> RetrainingRun:
    updates = {"status": status, "error": error, "finished_at": timezone.now(), "heartbeat_at": timezone.now()}
    if status == RetrainingRun.Status.SUCCEEDED:
        updates.update(stage="done", progress=100, candidate_version=candidate, metrics=metrics)
    RetrainingRun.objects.filter(pk=run.pk).update(**updates)
    run.refresh_from_db()
    Reporter(run.pk).log(f"{status}{': ' + error if error else ''}")
    action, actor = {
        RetrainingRun.Status.SUCCEEDED: (AuditEvent.Action.TRAINING_SUCCEEDED, run.requested_by),
        RetrainingRun.Status.FAILED: (AuditEvent.Action.TRAINING_FAILED, run.requested_by),
        RetrainingRun.Status.CANCELLED: (AuditEvent.Action.TRAINING_CANCELLED, run.cancel_requested_by),
    }[status]
    core_services.audit_record(action=action, actor=actor, model_version=candidate or run.base_version,
                               run=str(run.pk), **({"error": error} if error else {}))
    if status != RetrainingRun.Status.SUCCEEDED:
        _remove_run_folder(run)
    logger.info("retraining_finished", extra={"run": str(run.pk), "status": status})
    return run


def _remove_run_folder(run: RetrainingRun) -> None:
    """A failed or cancelled run leaves nothing behind; only its own folder is ever removed."""
    root = Path(settings.PIENET_RETRAIN_DIR).resolve()
    folder = root / str(run.pk)
    if run.out_dir and folder.is_dir() and folder.resolve().parent == root:
        shutil.rmtree(folder)


def _discard_training_data(out_dir: Path) -> None:
    """After success keep the model, its metrics log and labels.json (which labels, by key); drop the image
    copies and the stage-1 file, which hold nothing the registry needs."""
    shutil.rmtree(out_dir / "data" / "images", ignore_errors=True)
    (out_dir / "model" / "embedding.pt").unlink(missing_ok=True)


# --- The dataset ----------------------------------------------------------------------------


def _export_size(base: ModelVersion | None) -> int:
    """Long side of exported images: room for random crops at the training sizes, never above the candidates."""
    config = ModelConfig.from_dict(base.config) if base is not None else ModelConfig()
    return min(CANDIDATE_SIZE, 2 * max(config.embed_size, config.pienet_size))


@dataclass
class _Exporter:
    """Writes each photo (the input) and each candidate (the target, at the photo's exported size) once."""

    writer: LabelDatasetWriter
    size: int
    shapes: dict

    def candidate(self, candidate: Candidate) -> str:
        key = f"cand-{candidate.pk}"
        if self.writer.has_image(key):
            return key
        target = stored_pixels(candidate.image.name)
        photo_key = self.photo(candidate, target.shape[:2])
        height, width = self.shapes[photo_key]
        self.writer.add_image(key, resize_image(target, (width, height)))
        return key

    def photo(self, candidate: Candidate, rendered_shape) -> str:
        key = f"photo-{candidate.photo_id}"
        if not self.writer.has_image(key):
            height, width = rendered_shape
            scale = min(1.0, self.size / max(height, width))
            shape = (max(1, round(height * scale)), max(1, round(width * scale)))
            self.writer.add_image(key, resize_image(candidate_source(candidate.photo), (shape[1], shape[0])))
            self.shapes[key] = shape
        return key


def _style_examples(styles: list[str], per_style: int) -> dict[str, list[Candidate]]:
    """Ground-truth renderings (retouching users, made without a model) of the named styles, the same photos
    for every style as far as possible so that other styles' renderings are content-matched negatives."""
    examples = {}
    for style in styles:
        renders = Candidate.objects.filter(kind=Candidate.Kind.RETOUCH, style=style).exclude(image="")
        examples[style] = list(renders.select_related("photo").order_by("photo_id")[:per_style])
    return {style: found for style, found in examples.items() if found}


def dataset_build(*, labels_dir: Path, base: ModelVersion | None, style_examples: int, reporter: Reporter) -> dict:
    """Write the label dataset of every eligible participant (plus style rehearsal) and return its snapshot."""
    summary = selectors.label_summary()
    labels_check_minimum(summary)
    exporter = _Exporter(LabelDatasetWriter(labels_dir), _export_size(base), {})
    candidate_ids = {candidate for participant in summary.eligible for candidate in summary.labels[participant]}
    candidates = Candidate.objects.select_related("photo").in_bulk(candidate_ids)
    participants = Participant.objects.select_related("picking_round").in_bulk(summary.eligible)
    users, rounds = [], {}
    for index, participant_id in enumerate(summary.eligible):
        participant, labels = participants[participant_id], summary.labels[participant_id]
        positives = [exporter.candidate(candidates[candidate]) for candidate, liked in labels.items() if liked]
        negatives = [exporter.candidate(candidates[candidate]) for candidate, liked in labels.items() if not liked]
        pairs = [(f"photo-{candidates[candidate].photo_id}", f"cand-{candidate}")
                 for candidate, liked in labels.items() if liked]
        users.append(UserLabels(participant.pseudonym, "participant", positives, negatives, pairs))
        rounds[participant.picking_round.slug] = rounds.get(participant.picking_round.slug, 0) + 1
        reporter.progress("dataset", 0.8 * (index + 1) / len(summary.eligible))
    if base is not None:
        style_names = list(base.styles)
    else:
        style_names = sorted(set(Candidate.objects.filter(kind=Candidate.Kind.RETOUCH).values_list("style", flat=True)))
    examples = _style_examples(style_names, style_examples) if style_examples else {}
    style_positives = {style: [exporter.candidate(candidate) for candidate in found] for style, found in examples.items()}
    for style, found in examples.items():
        inputs = sorted({f"photo-{candidate.photo_id}" for candidate in found})
        others = [key for other, keys in style_positives.items() if other != style for key in keys]
        users.append(UserLabels(style, "style", style_positives[style], inputs + others,
                                [(f"photo-{candidate.photo_id}", f"cand-{candidate.pk}") for candidate in found]))
    reporter.progress("dataset", 1.0, force=True)
    snapshot = {
        "participants": len(summary.eligible),
        "participants_with_labels": len(summary.labels),
        "picks": summary.picks,
        "non_picks": summary.non_picks,
        "label_items": summary.items,
        "label_items_sha256": summary.digest,
        "last_label_id": summary.last_item_id,
        "last_label_at": summary.last_decided_at,
        "rounds": rounds,
        "styles": {style: len(found) for style, found in examples.items()},
        "images": len(exporter.writer.images),
        "image_size": exporter.size,
    }
    exporter.writer.write(users, details=snapshot)
    return snapshot


# --- Evaluation and promotion ---------------------------------------------------------------


def _benchmark(models: dict) -> dict:
    """The unseen-user benchmark (ml.evaluation on the configured dataset's test users), when configured."""
    from ml.evaluation import evaluate as evaluate_benchmark

    data_dir = settings.PIENET_RETRAIN_BENCHMARK_DIR
    if not data_dir:
        return {"skipped": "No unseen-user benchmark: PIENET_RETRAIN_BENCHMARK_DIR is not set."}
    try:
        users = FiveKLayout.open(data_dir).test_users
    except DatasetError as error:
        return {"skipped": f"The unseen-user benchmark could not be read: {error}"}
    results = {"data": data_dir, "users": users, "limit": settings.PIENET_RETRAIN_BENCHMARK_LIMIT}
    for role, enhancer in models.items():
        summary = evaluate_benchmark(enhancer, data_dir, split="test", users=users,
                                     limit=settings.PIENET_RETRAIN_BENCHMARK_LIMIT)
        results[role] = {name: summary[name] for name in ("mpsnr", "mssim", "mdelta_e")}
    return results


def evaluate(*, checkpoint: Path, labels: LabelDataset, split, reporter: Reporter) -> dict:
    """The candidate and the model active now, side by side: held-out labels, then the benchmark."""
    from ml.inference import Enhancer
    from ml.label_evaluation import evaluate_heldout

    active = core_selectors.active_model_version()
    models = {"candidate": Enhancer.from_checkpoint(checkpoint, device=settings.PIENET_DEVICE)}
    if active is not None:
        models["active"] = enhancer_for(active)
    heldout = {}
    for index, (role, enhancer) in enumerate(models.items()):
        heldout[role] = evaluate_heldout(enhancer, labels, split)
        reporter.progress("evaluation", 0.5 * (index + 1) / len(models), force=True)
    benchmark = _benchmark(models)
    return {"active_version": active.name if active is not None else None, "split": split.counts(),
            "heldout": heldout, "benchmark": benchmark}


def public_metrics(metrics: dict) -> dict:
    """The registry's copy: summaries only (per-participant results name participants; they stay in the run)."""
    heldout = {role: {name: value for name, value in result.items() if name != "per_participant"}
               for role, result in metrics["heldout"].items()}
    return {**metrics, "heldout": heldout}


def auto_promote_decision(metrics: dict, margin: float) -> tuple[bool, str]:
    """Promote by itself only when the candidate's held-out PSNR beats the active model's by `margin` dB and
    its held-out AUC is not lower (a model that renders better but ranks worse is left to an admin)."""
    candidate, active = metrics["heldout"]["candidate"], metrics["heldout"].get("active")
    if active is None:
        return True, "no model was active"
    if candidate["psnr"] is None or active["psnr"] is None:
        return False, "held-out PSNR could not be measured"
    gain = candidate["psnr"] - active["psnr"]
    if gain < margin:
        return False, f"held-out PSNR gain {gain:+.2f} dB is below the margin of {margin:g} dB"
    if candidate["auc"] is not None and active["auc"] is not None and candidate["auc"] < active["auc"]:
        return False, f"held-out AUC fell from {active['auc']:.3f} to {candidate['auc']:.3f}"
    return True, f"held-out PSNR gain {gain:+.2f} dB reaches the margin of {margin:g} dB, AUC not lower"


def _auto_promote(run: RetrainingRun, version: ModelVersion, metrics: dict) -> None:
    margin = settings.PIENET_RETRAIN_AUTO_PROMOTE_MARGIN
    if margin is None:
        return
    reporter = Reporter(run.pk)
    promote, reason = auto_promote_decision(metrics, margin)
    active = core_selectors.active_model_version()
    if promote and (active.name if active else None) != metrics["active_version"]:
        promote, reason = False, "the active model changed while the run was evaluated"
    if not promote:
        reporter.log(f"not promoted automatically: {reason}")
        return
    core_services.model_version_promote(version=version, actor=None, automatic=True, run=str(run.pk), reason=reason)
    reporter.log(f"promoted automatically: {reason}")
