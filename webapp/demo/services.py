"""Write side of the public demo (HackSoft style): pages, APIs, tasks and the clean-up call these.

Safety: an upload is sniffed for the four accepted formats before anything is decoded, then read
through `ml.images.load_image_uint8` (size limit before decoding, EXIF orientation, colour modes,
bit depths, animation refused); whatever else a hostile file makes a decoder raise is refused
with the same kind of message, never a server error. What is served back is always re-encoded
pixels, never the uploaded bytes, which are kept in private storage (outside the media root).
Privacy: nothing here logs a name, size, hash or token of a visitor's photo.
"""
import io
import logging
import time
import warnings
from datetime import timedelta
from decimal import Decimal

import numpy as np
import torch
from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.text import slugify
from PIL import Image, UnidentifiedImageError

from ml.images import ImageError, load_image, load_image_uint8, to_uint8
from ml.personalize import blend
from ml.styles.registry import STYLES
from webapp.core import selectors as core_selectors
from webapp.core import services as core_services
from webapp.core.caching import claim_once
from webapp.core.model_runtime import enhancer_for
from webapp.core.models import Job, ModelVersion, Photo
from webapp.core.errors import ServiceError, Unavailable
from webapp.core.imaging import UPLOAD_FORMATS, encode_jpeg, fit_within, format_suffix, photo_pixels, store_once
from webapp.core.storage import private_storage
from webapp.demo import selectors
from webapp.demo.models import Result, StylePreview, Upload, new_token

logger = logging.getLogger(__name__)

UNSUPPORTED = "This file is not a photo in a supported format: please upload a JPEG, PNG, WebP or TIFF image."
MIN_SIDE = 32  # smaller photos have nothing to enhance
MAX_ASPECT = 10  # beyond this the network's copy would be a few pixels thin
MY_STYLE = "@mine"
PREVIEW_SIZE = 320
RESULT_QUALITY, SCREEN_QUALITY = 92, 85


class Busy(Unavailable):
    """Too many renderings are waiting: the visitor should try again in a moment."""


# --- Uploads --------------------------------------------------------------------------------


def _sniff_format(data: bytes) -> str:
    """The file's format from its header, limited to the accepted four (no pixel is decoded)."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data), formats=list(UPLOAD_FORMATS)) as image:
                return image.format
    except Image.DecompressionBombError:
        raise ServiceError(
            f"The image is too large: the limit is {settings.PIENET_MAX_UPLOAD_PIXELS / 1e6:.0f} megapixels."
        ) from None
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, EOFError):
        raise ServiceError(UNSUPPORTED) from None


def decode_upload(data: bytes) -> tuple[np.ndarray, str]:
    """(upright RGB uint8 pixels, format) of an uploaded file, or ServiceError saying why not."""
    if not data:
        raise ServiceError("The file is empty.")
    limit = settings.PIENET_MAX_UPLOAD_BYTES
    if len(data) > limit:
        raise ServiceError(f"The file is larger than the limit of {limit / 2**20:.0f} MB.")
    image_format = _sniff_format(data)
    try:
        pixels = load_image_uint8(data, max_pixels=settings.PIENET_MAX_UPLOAD_PIXELS)
    except ImageError as error:
        raise ServiceError(str(error)) from None
    except Exception as error:  # a decoder's own failure on a hostile file: refuse it, keep the cause
        logger.warning("demo_upload_undecodable", extra={"error": type(error).__name__})
        raise ServiceError("The image is damaged and could not be decoded.") from None
    height, width = pixels.shape[:2]
    if min(height, width) < MIN_SIDE:
        raise ServiceError(f"The image is too small: at least {MIN_SIDE} pixels on each side, please.")
    if max(height, width) > MAX_ASPECT * min(height, width):
        raise ServiceError(f"The image is too narrow: its sides may differ by at most {MAX_ASPECT} times.")
    return pixels, image_format


def _store_before(token: str, pixels: np.ndarray) -> str:
    data = encode_jpeg(fit_within(pixels, settings.PIENET_SCREEN_SIZE), SCREEN_QUALITY)
    return default_storage.save(f"demo/{token}/before.jpg", ContentFile(data))


def upload_create(*, data: bytes) -> Upload:
    """Keep a visitor's photo under a new random token (refused with a clear message when unusable)."""
    pixels, image_format = decode_upload(data)
    token = new_token()
    original = private_storage().save(f"demo/{new_token()}{format_suffix(image_format)}", ContentFile(data))
    height, width = pixels.shape[:2]
    return Upload.objects.create(
        token=token, original=original, before=_store_before(token, pixels), width=width, height=height
    )


def upload_from_sample(*, photo: Photo) -> Upload:
    """Work on one of the site's demo photos: a private copy of the session, like an upload."""
    try:
        pixels = load_image_uint8(core_selectors.photo_read_bytes(photo))
    except (OSError, ImageError):
        raise ServiceError("This sample photo is not available right now; please choose another.") from None
    token = new_token()
    height, width = pixels.shape[:2]
    return Upload.objects.create(
        token=token, sample=photo, before=_store_before(token, pixels), width=width, height=height
    )


def upload_delete(*, upload: Upload) -> None:
    """Remove a visitor's photo, its renderings, their jobs and every stored file."""
    if upload.original:
        upload.original.delete(save=False)
    folder = f"demo/{upload.token}"
    try:
        _, files = default_storage.listdir(folder)
    except FileNotFoundError:
        files = []
    for name in files:
        default_storage.delete(f"{folder}/{name}")
    if files:
        default_storage.delete(folder)  # the emptied folder, where storage has folders
    with transaction.atomic():
        core_services.jobs_delete(job_ids=upload.results.values_list("job_id", flat=True))
        upload.delete()


def uploads_delete_expired(*, now=None) -> int:
    """Delete every upload older than the retention period (24 h by default); returns how many."""
    cutoff = (now or timezone.now()) - timedelta(hours=settings.PIENET_DEMO_RETENTION_HOURS)
    expired = list(selectors.uploads_created_before(cutoff))
    for upload in expired:
        upload_delete(upload=upload)
    if expired:
        logger.info("demo_uploads_deleted", extra={"count": len(expired)})
    return len(expired)


# --- Styles ---------------------------------------------------------------------------------


# What the public reads for the classical methods: what they do, not the algorithm (that is the tooltip).
CLASSICAL_NAMES = {
    "adaptive_gamma": "Balanced exposure",
    "auto_levels": "Auto contrast",
    "clahe": "Local contrast",
    "dark_channel_dehaze": "Haze removal",
    "detail_enhancement": "Crisp detail",
    "gray_world": "Neutral colour",
    "histogram_equalization": "Even tones",
    "lime": "Low-light boost",
    "multiscale_retinex": "Shadow recovery",
    "reinhard_tonemap": "Soft highlights",
    "white_patch": "True white",
}
PHOTOGRAPHER_PREFIX = "photographer_"


def style_label(name: str) -> str:
    """A style's name for people: "My style", a classical method's plain name, or the style's words."""
    if name == MY_STYLE:
        return "My style"
    if name in CLASSICAL_NAMES:
        return CLASSICAL_NAMES[name]
    return name.removeprefix(PHOTOGRAPHER_PREFIX).replace("_", " ").capitalize()


def style_description(name: str) -> str:
    """What a named style does, as its retouching user is described (the algorithm, for classical methods)."""
    style = STYLES.get(name)
    return style.description if style is not None else ""


def style_spec(
    *, version: ModelVersion, style: str, blend_with: str = "", mix=0, my_vector=None
) -> tuple[str, str, dict]:
    """(cache key, label, spec for the worker) of a look: a named style, the visitor's own (`MY_STYLE`),
    or `style` blended with `blend_with` (`mix` is the share of the second, 0 to 1)."""
    def check(name: str) -> None:
        if name == MY_STYLE:
            if my_vector is None:
                raise ServiceError("You have no style of your own yet: make one in the short picking round first.")
        elif name not in version.styles:
            raise ServiceError(f"Unknown style {name!r}.")

    check(style)
    mix = core_services.bounded_decimal(mix, low=Decimal(0), high=Decimal(1), name="The blend")
    if blend_with:
        check(blend_with)
    if not blend_with or blend_with == style or mix == 0:
        parts = [(style, Decimal(1))]
    elif mix == 1:
        parts = [(blend_with, Decimal(1))]
    else:
        parts = [(style, 1 - mix), (blend_with, mix)]
    names = [name for name, _ in parts]
    spec = {"parts": [[name, str(weight)] for name, weight in parts]}
    if MY_STYLE in names:
        spec["vector"] = [float(value) for value in np.asarray(my_vector, dtype=np.float32).reshape(-1)]
        mine = f"{MY_STYLE}:{core_services.vector_sha256(spec['vector'])[:16]}"
    key = version.sha256[:16] + "/" + "+".join(
        f"{mine if name == MY_STYLE else name}*{weight}" for name, weight in parts
    )
    if len(parts) == 1:
        label = style_label(names[0])
    else:
        label = " + ".join(f"{style_label(name)} {round(weight * 100)}%" for name, weight in parts)
    return key, label, spec


def spec_vector(spec: dict, enhancer) -> torch.Tensor:
    """The preference vector a spec describes, from the loaded model's styles and the visitor's vector."""
    def vector(name: str) -> torch.Tensor:
        if name == MY_STYLE:
            return torch.tensor(spec["vector"], dtype=torch.float32)
        return enhancer.style_vector(name).float().cpu()

    parts = spec["parts"]
    if len(parts) == 1:
        return vector(parts[0][0])
    return blend([vector(name) for name, _ in parts], [float(weight) for _, weight in parts])


# --- Rendering ------------------------------------------------------------------------------


def render_request(*, upload: Upload, style: str, blend_with: str = "", mix=0, strength=1, my_vector=None) -> Result:
    """The rendering of `upload` in a look at a strength: the existing one, or a new job on the gpu queue."""
    version = core_selectors.active_model_version()
    if version is None:
        raise ServiceError("The demo has no model to render with yet; please come back later.")
    key, label, spec = style_spec(version=version, style=style, blend_with=blend_with, mix=mix, my_vector=my_vector)
    strength = core_services.normalize_strength(strength)
    from webapp.demo.tasks import render

    existing = selectors.result_find(upload=upload, style_key=key, strength=strength)
    if existing is not None and existing.job.status != Job.Status.FAILED:
        core_services.job_requeue_if_stuck(job=existing.job, task=render)
        return existing
    if selectors.renders_waiting() >= settings.PIENET_DEMO_MAX_WAITING:
        raise Busy("Many people are trying the demo right now; please try again in a minute.")

    token = new_token()
    try:
        with transaction.atomic():
            if existing is not None:  # a failed rendering is tried afresh
                core_services.jobs_delete(job_ids=[existing.job_id])
            job = core_services.job_create(kind=Job.Kind.DEMO_RENDER, model_version=version, params={"demo_result": token})
            result = Result.objects.create(
                token=token, upload=upload, job=job, style_key=key, label=label, spec=spec, strength=strength
            )
            render.delay_on_commit(str(job.pk))
    except IntegrityError:  # the same look was asked for at the same moment (a double click)
        return selectors.result_find(upload=upload, style_key=key, strength=strength)
    return result


def _source_bytes(upload: Upload) -> bytes:
    if upload.sample_id:
        return core_selectors.photo_read_bytes(upload.sample)
    with upload.original.open("rb") as stored:
        return stored.read()


def render_run(*, job_id: str) -> None:
    """Worker side of `render_request`: full resolution in, full resolution and a screen copy out."""
    job = core_selectors.job_get(job_id)
    if job is None or not core_services.job_start(job=job):
        return
    result = selectors.result_for_job(job)
    if result is None:
        raise ServiceError("This photo has been deleted.")
    enhancer = enhancer_for(job.model_version)
    core_services.job_progress(job_id=job.pk, percent=15)
    image = load_image(_source_bytes(result.upload), max_pixels=settings.PIENET_MAX_UPLOAD_PIXELS)
    core_services.job_progress(job_id=job.pk, percent=40)
    started = time.perf_counter()
    output = to_uint8(enhancer.enhance(image, spec_vector(result.spec, enhancer), strength=float(result.strength)))
    seconds = time.perf_counter() - started
    core_services.job_progress(job_id=job.pk, percent=75)
    folder = f"demo/{result.upload.token}/{result.token}"
    names = {
        "image": store_once(f"{folder}.jpg", encode_jpeg(output, RESULT_QUALITY)),
        "screen": store_once(
            f"{folder}_screen.jpg", encode_jpeg(fit_within(output, settings.PIENET_SCREEN_SIZE), SCREEN_QUALITY)
        ),
    }
    if not Result.objects.filter(pk=result.pk).update(**names):  # deleted while rendering: leave nothing behind
        for name in names.values():
            default_storage.delete(name)
        return
    core_services.job_succeed(job=job, result={"seconds": round(seconds, 3)})
    logger.info("demo_rendered", extra={"job_id": str(job.pk), "seconds": round(seconds, 3)})


# --- Style previews -------------------------------------------------------------------------


def style_previews_ensure(*, version: ModelVersion) -> bool:
    """Queue the picker's thumbnails of `version` when some are missing or not yet measured for the showcase
    (at most every 10 minutes)."""
    if selectors.preview_photo() is None:
        return False
    if not (selectors.style_previews_missing(version) or selectors.showcase_unmeasured(version)):
        return False
    if not claim_once(f"demo:style-previews:{version.pk}", timeout=600):
        return False
    from webapp.demo.tasks import render_style_previews

    render_style_previews.delay_on_commit(version.pk)
    return True


def style_previews_render(*, model_version_id: int) -> int:
    """Render each missing style of the version on the sample photo, small, then rank the looks for the
    showcase; returns how many previews were made."""
    version = ModelVersion.objects.filter(pk=model_version_id).first()
    photo = selectors.preview_photo()
    if version is None or photo is None:
        return 0
    missing = selectors.style_previews_missing(version)
    if not (missing or selectors.showcase_unmeasured(version)):
        return 0
    source = fit_within(photo_pixels(photo, "thumbnail"), PREVIEW_SIZE)
    made = 0
    enhancer = enhancer_for(version) if missing else None
    for start in range(0, len(missing), enhancer.max_batch if enhancer else 1):
        names = missing[start:start + enhancer.max_batch]
        for name, output in zip(names, enhancer.enhance_batch([source] * len(names), names)):
            stored = store_once(
                f"demo-styles/{version.sha256[:16]}/{photo.content_hash[:16]}_{slugify(name)}.jpg",
                encode_jpeg(output, SCREEN_QUALITY),
            )
            change = float(np.abs(output - source / 255.0).mean())
            made += StylePreview.objects.get_or_create(
                model_version=version, style=name, defaults={"image": stored, "change": change}
            )[1]
    showcase_measure(version=version, source=source)
    return made


def upload_previews_ensure(*, upload: Upload, version: ModelVersion) -> bool:
    """Queue the style picker's thumbnails of the visitor's own photo when some are missing (once a minute)."""
    if not [name for name in version.styles if name not in upload.previews]:
        return False
    if not claim_once(f"demo:upload-previews:{upload.pk}:{version.pk}", timeout=60):
        return False
    from webapp.demo.tasks import render_upload_previews

    render_upload_previews.delay_on_commit(upload.pk, version.pk)
    return True


def upload_previews_render(*, upload_id: int, model_version_id: int) -> int:
    """Render the visitor's photo, small, in each style of the version it lacks; returns how many were made.
    The files sit in the upload's folder, so they are deleted with it."""
    upload = Upload.objects.filter(pk=upload_id).first()
    version = ModelVersion.objects.filter(pk=model_version_id).first()
    if upload is None or version is None:
        return 0
    missing = [name for name in version.styles if name not in upload.previews]
    if not missing:
        return 0
    enhancer = enhancer_for(version)
    with upload.before.open("rb") as stored:
        source = fit_within(load_image_uint8(stored.read()), PREVIEW_SIZE)
    made = {}
    for start in range(0, len(missing), enhancer.max_batch):
        names = missing[start:start + enhancer.max_batch]
        for name, output in zip(names, enhancer.enhance_batch([source] * len(names), names)):
            made[name] = store_once(
                f"demo/{upload.token}/style-{version.sha256[:8]}-{slugify(name)}.jpg", encode_jpeg(output, SCREEN_QUALITY)
            )
    with transaction.atomic():
        current = Upload.objects.select_for_update().filter(pk=upload.pk).first()
        if current is None:  # deleted while rendering: leave nothing behind
            for name in made.values():
                default_storage.delete(name)
            return 0
        Upload.objects.filter(pk=upload.pk).update(previews={**current.previews, **made})
    return len(made)


def _preview_pixels(preview: StylePreview) -> np.ndarray:
    with default_storage.open(preview.image.name, "rb") as stored:
        return np.asarray(Image.open(stored).convert("RGB"), dtype=np.float32) / 255


def showcase_measure(*, version: ModelVersion, source: np.ndarray) -> list[str]:
    """Rank the version's looks for the home page's "one photo, many tastes" by how distinct they are, measured
    on its previews: each next look is the one farthest (mean absolute pixel difference) from the photo as
    taken and every look ranked before it. Runs whenever a version's previews are complete, so the showcase
    follows whichever model is active."""
    previews = list(StylePreview.objects.filter(model_version=version).order_by("style"))
    if {preview.style for preview in previews} != set(version.styles):
        return []
    looks = {preview.style: _preview_pixels(preview) for preview in previews}
    chosen = [np.asarray(source, dtype=np.float32) / 255]
    nearest = {name: float(np.abs(pixels - chosen[0]).mean()) for name, pixels in looks.items()}
    ranking = []
    while nearest:
        name = max(nearest, key=lambda style: (nearest[style], style))
        ranking.append(name)
        del nearest[name]
        for other in nearest:
            nearest[other] = min(nearest[other], float(np.abs(looks[other] - looks[name]).mean()))
    with transaction.atomic():
        for rank, name in enumerate(ranking):
            StylePreview.objects.filter(model_version=version, style=name).update(showcase_rank=rank)
    return ranking
