"""Read-side queries (HackSoft style): views, tasks and services read through these."""
from decimal import Decimal
from pathlib import Path

from django.core.files.storage import default_storage
from django.db.models import QuerySet

from webapp.core.models import Enhancement, Job, ModelVersion, Photo


def active_model_version() -> ModelVersion | None:
    return ModelVersion.objects.filter(status=ModelVersion.Status.ACTIVE).first()


def model_version_list() -> QuerySet[ModelVersion]:
    return ModelVersion.objects.all()


def photo_list(*, demo_only: bool = False) -> QuerySet[Photo]:
    photos = Photo.objects.all()
    return photos.filter(is_demo=True) if demo_only else photos


def job_get(job_id) -> Job | None:
    return Job.objects.select_related("photo", "model_version").filter(pk=job_id).first()


def enhancement_find(
    *, photo: Photo, model_version: ModelVersion, style: str, strength: Decimal, vector_sha256: str = ""
) -> Enhancement | None:
    return Enhancement.objects.filter(
        photo=photo, model_version=model_version, style=style, vector_sha256=vector_sha256, strength=strength
    ).first()


def photo_read_bytes(photo: Photo) -> bytes:
    """The original bytes, from media storage for uploads or from the photo directory for imports."""
    if photo.image:
        with default_storage.open(photo.image.name, "rb") as stored:
            return stored.read()
    return Path(photo.source_path).read_bytes()
