"""The worker side of a retraining run: claim it, build its dataset, fine-tune, evaluate, register the
candidate (with its lineage) and, when the policy allows, promote it; report progress, a heartbeat and the
log on the way, and stop between steps when an admin cancels.

Safety: a run writes only into its own new folder and registers a model version only after training and
evaluation succeeded; the active model keeps serving whatever happens here.
"""

import logging
import shutil
import threading
import time
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path

from celery.exceptions import SoftTimeLimitExceeded
from django.conf import settings
from django.db import connection, transaction
from django.db.models import F, Value
from django.db.models.functions import Concat
from django.utils import timezone

from ml.checkpoint import CheckpointError
from ml.config import ConfigError
from ml.data.datasets import DatasetError
from ml.data.labels import LabelDataset
from ml.images import ImageError
from webapp.core import selectors as core_selectors
from webapp.core import services as core_services
from webapp.core.errors import ServiceError
from webapp.core.model_runtime import ModelUnavailable, enhancer_for
from webapp.core.models import AuditEvent, ModelVersion
from webapp.retraining.dataset import dataset_build
from webapp.retraining.evaluation import auto_promote_decision, evaluate, public_metrics
from webapp.retraining.models import RetrainingRun

logger = logging.getLogger(__name__)

USER_FACING = (ServiceError, ConfigError, DatasetError, CheckpointError, ModelUnavailable, ImageError)
# Progress bands of the stages (percent): data, the two training stages, evaluation, registration.
BANDS = {"dataset": (2, 10), "finetune-embedding": (10, 40), "finetune-pienet": (40, 85), "evaluation": (85, 97)}


class RunCancelled(Exception):
    """An admin asked the run to stop; raised between steps."""


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
    """Worker side of `services.run_request`: labels → dataset folder → fine-tune → evaluate → register the
    candidate."""
    run = _claim(run_id)
    if run is None:
        return
    reporter = Reporter(run.pk)
    out_dir = Path(run.out_dir)
    try:
        with _heartbeat(run.pk):
            version, metrics = _train_evaluate_register(run, reporter, out_dir)
    except RunCancelled:
        run_finish(run, RetrainingRun.Status.CANCELLED, "Cancelled by an admin; nothing was registered.")
        return
    except SoftTimeLimitExceeded:
        run_finish(
            run,
            RetrainingRun.Status.FAILED,
            f"The run took longer than PIENET_RETRAIN_TIME_LIMIT ({settings.PIENET_RETRAIN_TIME_LIMIT} s).",
        )
        return
    except Exception as error:  # noqa: BLE001  (any failure ends the run, recorded for the admin)
        logger.exception("retraining_failed", extra={"run": str(run.pk)})
        message = str(error) if isinstance(error, USER_FACING) else f"{type(error).__name__}: {error}"
        run_finish(run, RetrainingRun.Status.FAILED, message)
        return
    _discard_training_data(out_dir)
    run = run_finish(run, RetrainingRun.Status.SUCCEEDED, "", candidate=version, metrics=metrics)
    _auto_promote(run, version, metrics)


def _build_dataset(run: RetrainingRun, reporter: Reporter, data_dir: Path, style_examples: int) -> dict:
    reporter.stage("dataset", BANDS["dataset"][0], "building the dataset from the labels")
    snapshot = dataset_build(
        labels_dir=data_dir, base=run.base_version, style_examples=style_examples, reporter=reporter
    )
    RetrainingRun.objects.filter(pk=run.pk).update(data_snapshot=snapshot)
    reporter.log(
        f"dataset: {snapshot['participants']} participants, {snapshot['picks']} picks, "
        f"{snapshot['non_picks']} non-picks, {len(snapshot['styles'])} named styles, {snapshot['images']} images"
    )
    return snapshot


def _train_evaluate_register(run: RetrainingRun, reporter: Reporter, out_dir: Path):
    from ml.training.finetune import FinetuneRecipe, finetune

    recipe = FinetuneRecipe.from_dict(run.recipe)
    base = run.base_version
    snapshot = _build_dataset(run, reporter, out_dir / "data", recipe.style_examples)
    if base is not None:
        enhancer_for(base)  # the base checkpoint must still be the registered file (hash checked) before training
    result = finetune(
        out_dir / "data",
        out_dir / "model",
        recipe,
        base_checkpoint=base.checkpoint_path if base is not None else None,
        device=settings.PIENET_DEVICE,
        on_step=reporter.training_step,
    )
    reporter.stage("evaluation", BANDS["evaluation"][0], "evaluating on held-out labels and the benchmark")
    metrics = evaluate(
        checkpoint=result.checkpoint, labels=LabelDataset.open(out_dir / "data"), split=result.split, reporter=reporter
    )
    reporter.stage("registering", BANDS["evaluation"][1], "registering the candidate version")
    version, _ = core_services.model_version_register(
        checkpoint_path=result.checkpoint,
        name=f"retrained-{timezone.now():%Y%m%d-%H%M%S}-{str(run.pk)[:8]}",
        notes=f"Retrained {'from scratch' if run.from_scratch else 'from ' + base.name} by run {run.pk}.",
        parent=base if not run.from_scratch else None,
        recipe=run.recipe,
        data_snapshot=snapshot,
        metrics=public_metrics(metrics),
        created_by=run.requested_by,
    )
    return version, metrics


def run_finish(
    run: RetrainingRun, status: str, error: str, candidate: ModelVersion | None = None, metrics: dict | None = None
) -> RetrainingRun:
    """Record how a run ended (audited); a run that did not succeed leaves no folder behind."""
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
    core_services.audit_record(
        action=action,
        actor=actor,
        model_version=candidate or run.base_version,
        run=str(run.pk),
        **({"error": error} if error else {}),
    )
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
