"""Read-side queries (HackSoft style): views, tasks and services read through these."""
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

from django.conf import settings
from django.db.models import Count, QuerySet
from django.utils import timezone

from webapp.core.models import Enhancement, Job, ModelVersion, Photo


def active_model_version() -> ModelVersion | None:
    return ModelVersion.objects.filter(status=ModelVersion.Status.ACTIVE).first()


def model_version_list() -> QuerySet[ModelVersion]:
    return ModelVersion.objects.all()


def photo_list(*, demo_only: bool = False) -> QuerySet[Photo]:
    photos = Photo.objects.all()
    return photos.filter(is_demo=True) if demo_only else photos


def photo_collections() -> list[tuple[str, int]]:
    """(collection, number of photos) for every collection of the photo pool, by name."""
    counts = Photo.objects.values("collection").order_by("collection").annotate(photos=Count("pk"))
    return [(row["collection"], row["photos"]) for row in counts]


def _stuck_cutoff():
    return timezone.now() - timedelta(seconds=settings.PIENET_JOB_STUCK_SECONDS)


def job_is_stuck(job: Job) -> bool:
    """Queued or running, and untouched for longer than any task may run: its worker was lost."""
    return job.status in (Job.Status.QUEUED, Job.Status.RUNNING) and job.updated_at < _stuck_cutoff()


def jobs_stuck_count() -> int:
    return Job.objects.filter(status__in=[Job.Status.QUEUED, Job.Status.RUNNING], updated_at__lt=_stuck_cutoff()).count()


def job_get(job_id) -> Job | None:
    return Job.objects.select_related("photo", "model_version").filter(pk=job_id).first()


def enhancement_find(
    *, photo: Photo, model_version: ModelVersion, style: str, strength: Decimal, vector_sha256: str = ""
) -> Enhancement | None:
    return Enhancement.objects.filter(
        photo=photo, model_version=model_version, style=style, vector_sha256=vector_sha256, strength=strength
    ).first()


def photo_read_bytes(photo: Photo) -> bytes:
    """The original bytes, from private storage for uploads or from the photo directory for imports."""
    if photo.image:
        with photo.image.storage.open(photo.image.name, "rb") as stored:
            return stored.read()
    return Path(photo.source_path).read_bytes()
