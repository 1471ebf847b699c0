"""Rendering a participant's trials (the worker side of `services.trials_create`) and serving their images.

Two stages on two queues: `trials_render_cpu` renders what needs no model (retouching users, the check
options of attention checks) and hands over to `trials_render_gpu`, which renders the PieNet methods with the
study's model, one batch per trial. Every image has the same size, encoder and quality, and no metadata (a
fresh JPEG from pixels), so that nothing but the pixels tells methods apart. Renderings are shared by every
trial and participant shown that method on that photo; each participant gets their own variant of the bytes.
"""

import numpy as np
import torch
from django.core.files.storage import default_storage
from PIL import Image, ImageDraw, ImageFont

from ml.personalize import mean_vector
from ml.styles.registry import STYLES
from studies import selectors
from studies.models import StudyMethod, StudyParticipant, TrialOption
from webapp.core import selectors as core_selectors
from webapp.core import services as core_services
from webapp.core.errors import ServiceError
from webapp.core.imaging import encode_jpeg, fit_within, photo_pixels, store_once, stored_variant
from webapp.core.model_runtime import enhancer_for
from webapp.core.models import Job
from webapp.core.signing import keyed_digest, keyed_seed

TRIAL_IMAGE_SIZE = 1024  # long side of every option image: one size for all methods, so sizes tell nothing
TRIAL_IMAGE_QUALITY = 90  # and one JPEG quality, for the stored renderings and the variants served
# Progress (percent) of the render job: the cpu stage fills its band, the gpu stage (when there is one) the rest.
PROGRESS_START, PROGRESS_HANDOVER, PROGRESS_END = 5, 50, 100


def trial_source(photo) -> np.ndarray:
    """The photo every method of a trial starts from: its screen rendition at the trial size (uint8)."""
    return fit_within(photo_pixels(photo, "screen"), TRIAL_IMAGE_SIZE)


CHECK_TEXT = ("Do not choose", "this one")
# Two loud colours no retouching of a photo comes near (CIELAB ΔE about 100 from any natural pixel), in bands
# wide enough to survive any downscaling: the check option is the farthest one from every taste.
CHECK_COLOURS = ((236, 0, 140), (0, 200, 70))


def check_image(height: int, width: int) -> np.ndarray:
    """An attention check's option: no version of the photo at all but loud stripes saying "Do not choose
    this one", so that nobody, whatever their taste, could honestly prefer it (a degraded photo is the
    closest option for someone who likes extreme looks)."""
    image = Image.new("RGB", (width, height), CHECK_COLOURS[0])
    draw = ImageDraw.Draw(image)
    band = max(8, max(height, width) // 10)
    for start in range(-height, width + height, 2 * band):
        draw.polygon(
            [(start, 0), (start + band, 0), (start + band - height, height), (start - height, height)],
            fill=CHECK_COLOURS[1],
        )
    font = ImageFont.load_default(size=max(12, min(width // 11, height // 6)))
    lines = [draw.textbbox((0, 0), line, font=font) for line in CHECK_TEXT]
    line_height = max(box[3] - box[1] for box in lines)
    panel_width = max(box[2] - box[0] for box in lines) + line_height
    panel_height = len(lines) * line_height * 3 // 2 + line_height // 2
    left, top = (width - panel_width) // 2, (height - panel_height) // 2
    draw.rectangle([left, top, left + panel_width, top + panel_height], fill="white", outline="black", width=3)
    for index, line in enumerate(CHECK_TEXT):
        y = top + line_height // 2 + index * line_height * 3 // 2
        draw.text((width // 2, y), line, font=font, fill="black", anchor="mt")
    return np.asarray(image, dtype=np.float32) / 255


def _output_name(*parts: str) -> str:
    """Storage name of a rendering: stable for its inputs (renderings are shared by trials and
    participants), and keyed with the secret so that nobody can derive it from a method's name."""
    return f"studies/{keyed_digest(*parts)[:40]}.jpg"


def _store(name: str, pixels) -> None:
    store_once(name, encode_jpeg(pixels, TRIAL_IMAGE_QUALITY))


def _pending_options(entry: StudyParticipant) -> tuple[list[TrialOption], list[TrialOption]]:
    """The participant's options not rendered yet: (those the cpu stage renders, those that need the model)."""
    pending = list(
        TrialOption.objects.filter(trial__participant=entry, image="")
        .select_related("trial__photo", "method")
        .order_by("trial__number", "position")
    )
    on_gpu = [option for option in pending if option.method.needs_model and not option.degraded]
    return [option for option in pending if option not in on_gpu], on_gpu


def _render_by_trial(job: Job, options: list[TrialOption], render_trial, start: int, end: int) -> None:
    """Call `render_trial(photo, source pixels, options)` once per trial, moving the job from `start` to `end`."""
    by_trial: dict[int, list[TrialOption]] = {}
    for option in options:
        by_trial.setdefault(option.trial_id, []).append(option)
    for done, trial_options in enumerate(by_trial.values(), start=1):
        photo = trial_options[0].trial.photo
        render_trial(photo, trial_source(photo), trial_options)
        core_services.job_progress(job_id=job.pk, percent=start + (end - start) * done // len(by_trial))


def _entry_of(job: Job) -> StudyParticipant:
    return StudyParticipant.objects.select_related("study__model_version", "participant").get(
        pk=job.params["study_participant"]
    )


def _succeed(job: Job, entry: StudyParticipant, options: int) -> None:
    core_services.job_succeed(job=job, result={"options": options, "trials": entry.trials.count()})


def _job_to_run(job_id: str) -> Job | None:
    job = core_selectors.job_get(job_id)
    if job is None or job.status in (Job.Status.SUCCEEDED, Job.Status.FAILED):
        return None
    return job


def trials_render_cpu(*, job_id: str) -> bool:
    """The cpu stage; returns True when the gpu stage follows (it is queued after the commit)."""
    job = _job_to_run(job_id)
    if job is None:
        return False
    core_services.job_start(job=job)
    entry = _entry_of(job)
    on_cpu, on_gpu = _pending_options(entry)
    end = PROGRESS_HANDOVER if on_gpu else PROGRESS_END
    _render_by_trial(job, on_cpu, _render_without_model, PROGRESS_START, end)
    if on_gpu:
        from studies.tasks import render_trials_pienet

        render_trials_pienet.delay_on_commit(str(job.pk))
        return True
    _succeed(job, entry, len(on_cpu))
    return False


def trials_render_gpu(*, job_id: str) -> None:
    """The gpu stage: the PieNet methods with the study's model (loaded once per worker process)."""
    job = _job_to_run(job_id)
    if job is None:
        return
    entry = _entry_of(job)
    on_cpu, on_gpu = _pending_options(entry)
    _render_by_trial(job, on_gpu, PienetRenderer(entry).render_trial, PROGRESS_HANDOVER, PROGRESS_END)
    _succeed(job, entry, len(on_cpu) + len(on_gpu))


def _render_without_model(photo, source: np.ndarray, options: list[TrialOption]) -> None:
    size = str(TRIAL_IMAGE_SIZE)
    for option in options:
        if option.degraded:
            name = _output_name("check", *map(str, source.shape[:2]), size)
            if not default_storage.exists(name):
                _store(name, check_image(*source.shape[:2]))
        else:
            name = _output_name(photo.content_hash, option.method.key, size)
            if not default_storage.exists(name):
                _store(name, STYLES[option.method.style](source.astype(np.float32) / 255))
        TrialOption.objects.filter(pk=option.pk).update(image=name)


class PienetRenderer:
    """Renders one trial's PieNet options with the study's model: a named style, the mean of the model's
    styles, or the participant's own vector (computed after their picks, in the study model's space)."""

    def __init__(self, entry: StudyParticipant):
        self.version = entry.study.model_version
        self.enhancer = enhancer_for(self.version)
        self.mean = mean_vector(torch.stack(list(self.enhancer.styles.values())).cpu())
        self.personal = selectors.participant_vector(entry)

    def key_and_vector(self, method: StudyMethod):
        """The rendering's cache key (a personal vector's hash included) and what PieNet is given."""
        if method.kind == StudyMethod.Kind.PIENET_STYLE:
            return method.key, method.style
        if method.kind == StudyMethod.Kind.PIENET_PERSONAL:
            if self.personal is None:
                raise ServiceError("The participant has no preference vector for this study's model.")
            vector = self.personal.vector_array()
            return f"{method.key}:{core_services.vector_sha256(vector)}", torch.from_numpy(vector.copy())
        return method.key, self.mean

    def render_trial(self, photo, source: np.ndarray, options: list[TrialOption]) -> None:
        size = str(TRIAL_IMAGE_SIZE)
        names, missing = {}, []
        for option in options:
            key, vector = self.key_and_vector(option.method)
            names[option.pk] = _output_name(photo.content_hash, key, self.version.sha256, size)
            if not default_storage.exists(names[option.pk]):
                missing.append((option, vector))
        if missing:
            outputs = self.enhancer.enhance_batch([source] * len(missing), [vector for _, vector in missing])
            for (option, _), output in zip(missing, outputs):
                _store(names[option.pk], output)
        for option in options:
            TrialOption.objects.filter(pk=option.pk).update(image=names[option.pk])


def option_image(*, option: TrialOption) -> bytes:
    """An option's image as its participant gets it: the rendering (shared by everyone shown that method
    on that photo) with a variation keyed by the option, so that participants comparing their copies of
    a method's image cannot match them byte for byte and tell which option is which method."""
    return stored_variant(option.image.name, keyed_seed("trial", option.token), TRIAL_IMAGE_QUALITY)
