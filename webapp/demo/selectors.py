"""Read side of the public demo: uploads and results by token, styles, samples, the visitor's own style."""
from decimal import Decimal

from django.conf import settings
from django.db.models import QuerySet

from webapp.core import selectors as core_selectors
from webapp.core.models import Job, ModelVersion, Photo
from webapp.demo.models import Result, StylePreview, Upload
from webapp.participants import selectors as participant_selectors
from webapp.participants.sessions import session_participant

SESSION_KEY = "demo_uploads"
MAX_REMEMBERED = 10


def upload_get(token: str) -> Upload | None:
    return Upload.objects.select_related("sample").filter(token=token).first()


def result_get(token: str) -> Result | None:
    return Result.objects.select_related("job", "upload").filter(token=token).first()


def result_find(*, upload: Upload, style_key: str, strength: Decimal) -> Result | None:
    return Result.objects.select_related("job").filter(upload=upload, style_key=style_key, strength=strength).first()


def result_for_job(job: Job) -> Result | None:
    return Result.objects.select_related("upload__sample").filter(job=job).first()


def latest_result(upload: Upload) -> Result | None:
    return upload.results.select_related("job").exclude(job__status=Job.Status.FAILED).first()


def uploads_created_before(cutoff) -> QuerySet[Upload]:
    return Upload.objects.filter(created_at__lt=cutoff)


def renders_waiting() -> int:
    """Demo renderings not started yet: a bound on how long a new one would wait."""
    return Job.objects.filter(status=Job.Status.QUEUED, kind=Job.Kind.DEMO_RENDER).count()


def samples(limit: int = 6) -> QuerySet[Photo]:
    """The site's demo photos that have a thumbnail to show."""
    return core_selectors.photo_list(demo_only=True).exclude(thumbnail="").order_by("pk")[:limit]


def sample_get(photo_id: int) -> Photo | None:
    return core_selectors.photo_list(demo_only=True).filter(pk=photo_id).first()


def preview_photo() -> Photo | None:
    """The sample every style preview is rendered on (the first demo photo, so previews compare)."""
    return core_selectors.photo_list(demo_only=True).order_by("pk").first()


def style_previews_missing(version: ModelVersion) -> list[str]:
    done = set(StylePreview.objects.filter(model_version=version).values_list("style", flat=True))
    return [name for name in version.styles if name not in done]


def showcase_unmeasured(version: ModelVersion) -> bool:
    """Some preview of the version has no showcase rank yet (rendered before the looks were measured)."""
    return StylePreview.objects.filter(model_version=version, showcase_rank__isnull=True).exists()


def showcase_styles(version: ModelVersion, count: int) -> list[StylePreview]:
    """The most distinct looks, as `services.showcase_measure` ranked them: the landing page's picture of
    'one photo, many tastes' (nothing until every preview of the version is rendered and measured)."""
    ranked = StylePreview.objects.filter(model_version=version, showcase_rank__isnull=False)
    return list(ranked.order_by("showcase_rank")[:count])


def remembered_upload(session) -> Upload | None:
    """The visitor's most recent photo that still exists (to come back to it after the picking round)."""
    for token in reversed(session.get(SESSION_KEY, [])):
        upload = upload_get(token)
        if upload is not None:
            return upload
    return None


def my_style(request, version: ModelVersion | None) -> dict:
    """Where the visitor stands with a style of their own, made in the demo's picking round.

    state: "unavailable" (no round or model), "start", "picking", "computing" or "ready" (with `vector`
    and `made_at`).
    """
    picking_round = participant_selectors.picking_round_get(settings.PIENET_DEMO_ROUND)
    if picking_round is None or not picking_round.is_open or version is None:
        return {"state": "unavailable", "vector": None, "round": None}
    state = {"state": "start", "vector": None, "round": picking_round}
    participant = session_participant(request, picking_round)
    if participant is None:
        return state
    if participant.finished_at is None:
        return {**state, "state": "picking"}
    preference = participant.vectors.filter(model_version=version).first()
    if preference is None:
        return {**state, "state": "computing"}
    return {**state, "state": "ready", "vector": preference.vector_array(), "made_at": preference.created_at}
