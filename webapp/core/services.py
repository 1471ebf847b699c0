"""Write-side business logic (HackSoft style): views, tasks and commands call these, never the ORM.

Idempotency: a photo is identified by the SHA-256 of its bytes and a rendered result by
(photo, model version, style, strength), with a storage name derived from that key. A task that
runs twice (a redelivery after a worker died, a retry) finds the work done and only records it.
"""
import csv
import hashlib
import logging
import time
from datetime import timedelta
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from pathlib import Path

import numpy as np
from django.conf import settings
from django.core.files.storage import default_storage
from django.db import IntegrityError, transaction
from django.db.models import F, Q
from django.utils import timezone
from django.utils.text import slugify

from ml.images import ImageError, load_image, load_image_uint8
from webapp.core import selectors
from webapp.core.errors import ServiceError
from webapp.core.imaging import IMPORT_SUFFIXES, data_format, encode_jpeg, fit_within, format_suffix, store_once
from webapp.core.model_runtime import ModelUnavailable, enhancer_for
from webapp.core.models import AuditEvent, Enhancement, Job, ModelVersion, Photo
from webapp.core.signals import model_activated
from webapp.core.storage import private_storage

logger = logging.getLogger(__name__)

# 0 keeps the photo, 1 is the learned retouch, above 1 exaggerates it (PieNet adds a residual).
STRENGTH_STEP = Decimal("0.01")
MIN_STRENGTH, MAX_STRENGTH = Decimal("0"), Decimal("2")


# --- Photos ---------------------------------------------------------------------------------


def photo_create(
    *, data: bytes, title: str = "", collection: str = "", source_path: str = "", is_demo: bool = False
) -> tuple[Photo, bool]:
    """Store a photo once per content (upload) or reference it in place (import); queue its thumbnail.

    Returns (photo, created). Raises ServiceError when the bytes are not a readable photo.
    """
    content_hash = hashlib.sha256(data).hexdigest()
    existing = Photo.objects.filter(content_hash=content_hash).first()
    if existing is not None:
        return existing, False
    try:
        pixels = load_image_uint8(data, max_pixels=settings.PIENET_MAX_UPLOAD_PIXELS)
    except ImageError as error:
        raise ServiceError(str(error)) from None
    height, width = pixels.shape[:2]
    photo = Photo(
        content_hash=content_hash,
        title=title[:200],
        collection=collection,
        source_path=source_path,
        width=width,
        height=height,
        is_demo=is_demo,
    )
    if not source_path:
        suffix = format_suffix(data_format(data))
        photo.image.name = store_once(f"photos/{content_hash}{suffix}", data, storage=private_storage())
    try:
        with transaction.atomic():
            photo.save()
    except IntegrityError:  # the same photo arrived concurrently
        return Photo.objects.get(content_hash=content_hash), False
    from webapp.core.tasks import make_thumbnail

    make_thumbnail.delay_on_commit(photo.pk)
    logger.info("photo_created", extra={"photo_id": photo.pk, "content_hash": content_hash})
    return photo, True


def photo_full_size_jpeg(photo: Photo) -> bytes:
    """The photo's pixels re-encoded (no metadata): what the platform shows of a stored original."""
    data = selectors.photo_read_bytes(photo)
    return encode_jpeg(load_image_uint8(data, max_pixels=settings.PIENET_MAX_UPLOAD_PIXELS), quality=95)


def photo_import_file(*, path: Path, collection: str = "", is_demo: bool = False) -> tuple[Photo, bool]:
    """Reference a photo from the photo directory without copying it."""
    resolved = Path(path).resolve()
    return photo_create(
        data=resolved.read_bytes(),
        title=resolved.stem,
        collection=collection,
        source_path=str(resolved),
        is_demo=is_demo,
    )


def photo_make_thumbnail(*, photo_id: int) -> None:
    """Make the photo's renditions once: a thumbnail for grids and a screen-sized copy for viewing.

    Both are derived from the content hash and size, so a second run (or a redelivered task) only
    finds them in storage.
    """
    photo = Photo.objects.filter(pk=photo_id).first()
    if photo is None:
        logger.warning("thumbnail_skipped_missing_photo", extra={"photo_id": photo_id})
        return
    renditions = {"thumbnail": settings.PIENET_THUMBNAIL_SIZE, "screen": settings.PIENET_SCREEN_SIZE}
    missing = {
        field: size for field, size in renditions.items()
        if not (getattr(photo, field) and default_storage.exists(getattr(photo, field).name))
    }
    if not missing:
        return
    original = load_image_uint8(selectors.photo_read_bytes(photo))
    names = {
        field: store_once(
            f"{field}s/{photo.content_hash}_{size}.jpg", encode_jpeg(fit_within(original, size), quality=85)
        )
        for field, size in missing.items()
    }
    Photo.objects.filter(pk=photo.pk).update(**names)


def photo_import_directory(*, directory: Path, progress=None) -> tuple[int, int, list[str]]:
    """Reference every photo of a directory in place (manifest.csv when present, else image files).

    Returns (created, already_there, problems); unreadable files are reported, not fatal.
    `progress` wraps the list of files (a tqdm bar in the command).
    """
    sources = photo_directory_sources(directory)
    created = existing = 0
    problems = []
    for path, collection in progress(sources) if progress else sources:
        try:
            _, is_new = photo_import_file(path=path, collection=collection)
        except (ServiceError, OSError) as error:
            problems.append(f"{path}: {error}")
            continue
        created += is_new
        existing += not is_new
    return created, existing, problems


def photo_directory_sources(directory: Path) -> list[tuple[Path, str]]:
    """(path, collection) pairs of a photo directory; the collection is the manifest's or else the name of the
    photo's folder (the directory's own name for photos directly in it, e.g. one collection imported alone)."""
    directory = Path(directory).resolve()
    if not directory.is_dir():
        raise ServiceError(f"{directory} is not a directory.")
    manifest = directory / "manifest.csv"
    if manifest.is_file():
        with manifest.open(newline="") as handle:
            rows = list(csv.DictReader(handle))
        if rows and "file" not in rows[0]:
            raise ServiceError(f"{manifest} has no 'file' column.")
        return [(directory / row["file"], row.get("collection") or directory.name) for row in rows]
    return [
        (path, path.parent.name)
        for path in sorted(directory.rglob("*"))
        if path.is_file() and path.suffix.lower() in IMPORT_SUFFIXES
    ]


# --- Model registry -------------------------------------------------------------------------


def model_version_register(
    *, checkpoint_path: Path, name: str = "", notes: str = "", activate: bool = False,
    parent: ModelVersion | None = None, recipe: dict | None = None, data_snapshot: dict | None = None,
    metrics: dict | None = None, created_by=None,
) -> tuple[ModelVersion, bool]:
    """Validate a checkpoint by loading it and record it with its hash, styles and metrics.

    Returns (version, created); a file whose hash is already registered returns that version unchanged.
    A retrained version also records its lineage: the `parent` it was retrained from, the training `recipe`,
    the `data_snapshot` it learned from, its evaluation `metrics` (else the checkpoint's own) and who asked.
    """
    from ml.checkpoint import CheckpointError, file_sha256, load_checkpoint

    path = Path(checkpoint_path).resolve()
    if not path.is_file():
        raise ServiceError(f"No checkpoint file at {path}.")
    sha256 = file_sha256(path)
    version = ModelVersion.objects.filter(sha256=sha256).first()
    created = version is None
    if created:
        try:
            loaded = load_checkpoint(path)
        except CheckpointError as error:
            raise ServiceError(f"{path} is not a usable checkpoint: {error}") from None
        if loaded.pienet is None:
            raise ServiceError(f"{path} holds only the embedding network (stage 1); it cannot enhance photos.")
        metadata = loaded.metadata if isinstance(loaded.metadata, dict) else {}
        name = name or f"{path.stem}-{sha256[:8]}"
        if ModelVersion.objects.filter(name=name).exists():
            raise ServiceError(f"A model version named {name!r} already exists.")
        version = ModelVersion.objects.create(
            name=name,
            checkpoint_path=str(path),
            sha256=sha256,
            config=loaded.config.to_dict(),
            styles=sorted(loaded.styles),
            metrics=metrics if metrics is not None else metadata.get("metrics", {}),
            notes=notes,
            parent=parent,
            recipe=recipe or {},
            data_snapshot=data_snapshot or {},
            created_by=created_by,
        )
        logger.info("model_registered", extra={"model_version": version.name, "sha256": sha256})
    if activate:
        version = model_version_activate(version=version)
    return version, created


def model_version_activate(*, version: ModelVersion, actor=None, **details) -> ModelVersion:
    """Make `version` the only active one, in one transaction (the previous one becomes retired).

    Jobs already queued keep the version they pinned; workers load the new one with its first job.
    The switch is audited as a promotion (from candidate) or a rollback (to a retired version), with
    `actor` (None: the command line, or 'system' when `details` say automatic=True).
    After the commit `model_activated` tells feature apps (participants recompute their vectors).
    """
    with transaction.atomic():
        locked = list(
            ModelVersion.objects.select_for_update().filter(Q(status=ModelVersion.Status.ACTIVE) | Q(pk=version.pk))
        )
        previous = next((row for row in locked if row.status == ModelVersion.Status.ACTIVE), None)
        target = next(row for row in locked if row.pk == version.pk)
        ModelVersion.objects.filter(status=ModelVersion.Status.ACTIVE).exclude(pk=version.pk).update(
            status=ModelVersion.Status.RETIRED
        )
        ModelVersion.objects.filter(pk=version.pk).exclude(status=ModelVersion.Status.ACTIVE).update(
            status=ModelVersion.Status.ACTIVE, activated_at=timezone.now()
        )
        if target.status != ModelVersion.Status.ACTIVE:
            action = {
                ModelVersion.Status.CANDIDATE: AuditEvent.Action.PROMOTED,
                ModelVersion.Status.RETIRED: AuditEvent.Action.ROLLED_BACK,
            }[target.status]
            audit_record(action=action, actor=actor, model_version=target, previous_version=previous, **details)
            transaction.on_commit(  # robust: a receiver's error is logged, the committed switch stands
                lambda: model_activated.send(sender=ModelVersion, version=version, previous=previous), robust=True
            )
    version.refresh_from_db()
    logger.info("model_activated", extra={"model_version": version.name, "sha256": version.sha256})
    return version


def model_version_promote(*, version: ModelVersion, actor=None, **details) -> ModelVersion:
    """Serve a candidate (a newly registered or retrained version)."""
    if version.status != ModelVersion.Status.CANDIDATE:
        raise ServiceError(f"{version.name} is {version.status}, not a candidate; only candidates are promoted.")
    return model_version_activate(version=version, actor=actor, **details)


def model_version_rollback(*, version: ModelVersion, actor=None) -> ModelVersion:
    """Serve again a version that served before (its files are kept, its vectors too)."""
    if version.status == ModelVersion.Status.ACTIVE:
        raise ServiceError(f"{version.name} is the active model already.")
    if version.status != ModelVersion.Status.RETIRED or version.activated_at is None:
        raise ServiceError(f"{version.name} never served; roll back only to a version that was active (promote a "
                           "candidate instead).")
    return model_version_activate(version=version, actor=actor)


def audit_record(*, action: str, actor=None, model_version: ModelVersion | None = None,
                 previous_version: ModelVersion | None = None, **details) -> AuditEvent:
    """Append to the audit log; an action without a person is the command line's or the system's."""
    if actor is not None:
        name = actor.get_username()
    else:
        name = "system" if details.get("automatic") else "command line"
    return AuditEvent.objects.create(
        action=action, actor=actor, actor_name=name, model_version=model_version,
        previous_version=previous_version, details=details,
    )


# --- Jobs -----------------------------------------------------------------------------------


def job_create(*, kind: str, params: dict | None = None, model_version: ModelVersion | None = None,
               photo: Photo | None = None) -> Job:
    """A queued job of `kind` (the app asking for the work queues its task after the commit)."""
    return Job.objects.create(kind=kind, params=params or {}, model_version=model_version, photo=photo)


def job_record_result(*, job_id, result: dict) -> None:
    """Keep what a finished stage found while the job goes on in its next stage."""
    Job.objects.filter(pk=job_id).update(result=result)


def jobs_delete(*, job_ids) -> None:
    """Delete jobs (and what cascades from them) whose work is no longer wanted."""
    Job.objects.filter(pk__in=job_ids).delete()


def job_progress(*, job_id, percent: int) -> None:
    Job.objects.filter(pk=job_id).update(progress=percent, updated_at=timezone.now())


def job_start(*, job: Job, progress: int = 5) -> bool:
    """Mark a job running (once more); False when it already finished, so a redelivered task stops."""
    if job.status in (Job.Status.SUCCEEDED, Job.Status.FAILED):
        return False
    Job.objects.filter(pk=job.pk).update(
        status=Job.Status.RUNNING,
        attempts=F("attempts") + 1,
        started_at=job.started_at or timezone.now(),
        progress=progress,
        updated_at=timezone.now(),
    )
    return True


def job_requeue_if_stuck(*, job: Job, task) -> bool:
    """Asked again for work whose worker was lost: queue the same job once more (after the commit)."""
    if not selectors.job_is_stuck(job):
        return False
    updated = Job.objects.filter(pk=job.pk, updated_at=job.updated_at).update(
        status=Job.Status.QUEUED, progress=0, updated_at=timezone.now()
    )
    if updated:  # only one of several simultaneous re-requests queues it
        task.delay_on_commit(str(job.pk))
        logger.warning("stuck_job_requeued", extra={"job_id": str(job.pk), "kind": job.kind})
        job.refresh_from_db()
    return bool(updated)


def job_succeed(*, job: Job, result: dict) -> None:
    job.status = Job.Status.SUCCEEDED
    job.progress = 100
    job.finished_at = timezone.now()
    job.result = result
    job.save(update_fields=["status", "progress", "finished_at", "result", "updated_at"])


def job_fail(*, job_id, error: BaseException) -> None:
    """Record a final failure; only messages meant for users are shown, the rest is logged."""
    user_facing = isinstance(error, (ServiceError, ImageError, ModelUnavailable))
    message = str(error) if user_facing else "The job failed because of an internal error; it has been logged."
    updated = Job.objects.filter(pk=job_id).exclude(status=Job.Status.SUCCEEDED).update(
        status=Job.Status.FAILED, error=message, finished_at=timezone.now(), updated_at=timezone.now()
    )
    logger.error("job_failed", extra={"job_id": str(job_id), "error": repr(error), "updated": updated})


def job_fail_stale() -> int:
    """Fail jobs no worker has touched for a long time (all workers down, a lost message)."""
    cutoff = timezone.now() - timedelta(minutes=settings.PIENET_STALE_JOB_MINUTES)
    count = Job.objects.filter(
        status__in=[Job.Status.QUEUED, Job.Status.RUNNING], updated_at__lt=cutoff
    ).update(
        status=Job.Status.FAILED,
        error=f"No worker finished this job within {settings.PIENET_STALE_JOB_MINUTES} minutes.",
        finished_at=timezone.now(),
        updated_at=timezone.now(),
    )
    if count:
        logger.warning("stale_jobs_failed", extra={"count": count})
    return count


# --- Enhancement ----------------------------------------------------------------------------


def bounded_decimal(value, *, low: Decimal, high: Decimal, name: str, step: Decimal = STRENGTH_STEP) -> Decimal:
    """`value` rounded to `step` and range-checked: such numbers are parts of cache keys (strengths, blends).
    A ServiceError names the value as `name` ("Strength")."""
    try:
        number = Decimal(str(value)).quantize(step, rounding=ROUND_HALF_UP)
    except (InvalidOperation, ValueError):
        raise ServiceError(f"{name} must be a number between {low} and {high}, got {value!r}.") from None
    if not low <= number <= high:
        raise ServiceError(f"{name} must be between {low} and {high}, got {value}.")
    return number


def normalize_strength(value) -> Decimal:
    """Strength is part of the cache key, so it is rounded to a fixed step and range-checked."""
    return bounded_decimal(value, low=MIN_STRENGTH, high=MAX_STRENGTH, name="Strength")


def enhancement_request(*, photo: Photo, style: str, strength) -> Job:
    """Create a job for enhancing `photo` in a named style of the active model; queue it after the commit.

    A result already rendered for the same key completes the job at once, without a task.
    """
    version = selectors.active_model_version()
    if version is None:
        raise ServiceError("No model is active yet; register one with `manage.py register_model --activate`.")
    if style not in version.styles:
        raise ServiceError(f"Unknown style {style!r}; model {version.name} offers: {', '.join(version.styles)}.")
    strength = normalize_strength(strength)
    return _enhancement_job(photo, version, {"style": style, "strength": str(strength)})


def vector_sha256(vector) -> str:
    """Cache key of a preference vector: the SHA-256 of its float32 little-endian bytes."""
    return hashlib.sha256(np.asarray(vector, dtype="<f4").reshape(-1).tobytes()).hexdigest()


def enhancement_request_vector(*, photo: Photo, vector, model_version: ModelVersion, strength=1) -> Job:
    """Like `enhancement_request`, for any preference vector (a participant's) instead of a named style.

    The vector only means something in the embedding space it was computed in, so the caller names
    that model version rather than whichever is active now.
    """
    values = [float(value) for value in np.asarray(vector, dtype=np.float32).reshape(-1)]
    expected = model_version.config.get("vector_dim")
    if expected and len(values) != expected:
        raise ServiceError(f"A preference vector for {model_version.name} has {expected} values, got {len(values)}.")
    if not np.isfinite(values).all():
        raise ServiceError("A preference vector must hold finite numbers.")
    strength = normalize_strength(strength)
    params = {"vector": values, "vector_sha256": vector_sha256(values), "strength": str(strength)}
    return _enhancement_job(photo, model_version, params)


def _job_succeed_with_enhancement(job: Job, enhancement: Enhancement) -> None:
    job_succeed(
        job=job,
        result={
            "enhancement_id": enhancement.pk,
            "image_url": default_storage.url(enhancement.image.name),
            "width": enhancement.width,
            "height": enhancement.height,
            "seconds": enhancement.seconds,
        },
    )


def _enhancement_job(photo: Photo, version: ModelVersion, params: dict) -> Job:
    cached = selectors.enhancement_find(
        photo=photo, model_version=version, style=params.get("style", ""),
        vector_sha256=params.get("vector_sha256", ""), strength=Decimal(params["strength"]),
    )
    with transaction.atomic():
        job = job_create(kind=Job.Kind.ENHANCE, photo=photo, model_version=version, params=params)
        if cached is not None:
            _job_succeed_with_enhancement(job, cached)
        else:
            from webapp.core.tasks import enhance_photo

            enhance_photo.delay_on_commit(str(job.pk))
    return job


def enhancement_job_run(*, job_id: str) -> None:
    """Worker side of `enhancement_request`. Safe to run more than once for the same job."""
    job = selectors.job_get(job_id)
    if job is None or not job_start(job=job):
        return
    style, strength = job.params.get("style", ""), Decimal(job.params["strength"])
    vector_key = job.params.get("vector_sha256", "")
    photo, version = job.photo, job.model_version
    enhancement = selectors.enhancement_find(
        photo=photo, model_version=version, style=style, vector_sha256=vector_key, strength=strength
    )
    if enhancement is None:
        enhancer = enhancer_for(version)
        job_progress(job_id=job.pk, percent=30)
        image = load_image(selectors.photo_read_bytes(photo), max_pixels=settings.PIENET_MAX_UPLOAD_PIXELS)
        job_progress(job_id=job.pk, percent=50)
        vector = job.params["vector"] if vector_key else enhancer.style_vector(style)
        started = time.perf_counter()
        output = enhancer.enhance(image, vector, strength=float(strength))
        seconds = time.perf_counter() - started
        job_progress(job_id=job.pk, percent=90)
        label = f"v{vector_key[:16]}" if vector_key else slugify(style)
        name = store_once(
            f"enhanced/{photo.content_hash}/{version.sha256[:16]}_{label}_{strength}.jpg", encode_jpeg(output)
        )
        enhancement, _ = Enhancement.objects.get_or_create(
            photo=photo,
            model_version=version,
            style=style,
            vector_sha256=vector_key,
            strength=strength,
            defaults={"image": name, "width": output.shape[1], "height": output.shape[0], "seconds": seconds},
        )
        logger.info(
            "enhancement_rendered",
            extra={"job_id": str(job.pk), "model_version": version.name, "style": style or label,
                   "seconds": round(seconds, 3)},
        )
    _job_succeed_with_enhancement(job, enhancement)
