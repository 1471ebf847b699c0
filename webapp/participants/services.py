"""Write-side logic of the participant flow (HackSoft style): pages, APIs, tasks and commands call these.

Exactly-once picks: every write that depends on a participant's pick count locks the participant
row first (SELECT ... FOR UPDATE), so two tabs of one participant are serialized; the database
constraints (one open set per participant, a candidate and a photo once per set, unique tokens)
catch anything that slips past. Every write is idempotent: repeating a request (a refresh, a retry
after a lost connection) returns the same state instead of failing or doubling a pick.
"""
import logging
import random
import re
import time

import numpy as np
import torch
from django.db import IntegrityError, transaction
from django.utils import timezone

from ml.personalize import consistency, mean_vector, optimize_vector
from ml.styles.registry import STYLES, get_style
from webapp.core import selectors as core_selectors
from webapp.core import services as core_services
from webapp.core.errors import Conflict, NotAllowed, ServiceError
from webapp.core.imaging import encode_jpeg, fit_within, photo_pixels, store_once, stored_pixels, stored_variant
from webapp.core.model_runtime import enhancer_for
from webapp.core.models import Job, ModelVersion, Photo
from webapp.core.signing import keyed_digest, keyed_seed
from webapp.participants import selectors
from webapp.participants.models import (
    Candidate, Participant, PickingRound, PickSet, PreferenceVector, PreviewItem, SetItem,
)

logger = logging.getLogger(__name__)

CANDIDATE_SIZE = 1024  # long side of a candidate rendering: sharp on phones and laptops, cheap to render
CANDIDATE_THUMBNAIL_SIZE = 480
CANDIDATE_QUALITY, CANDIDATE_THUMBNAIL_QUALITY = 90, 85
RECRUITMENT_ID = re.compile(r"^[A-Za-z0-9_\-]{1,100}$")
MTURK_PREVIEW_ASSIGNMENT = "ASSIGNMENT_ID_NOT_AVAILABLE"


class AlreadyParticipated(NotAllowed):
    """This recruitment id already completed the round."""


# --- Candidates -----------------------------------------------------------------------------


def candidates_request(*, photos: list[Photo], retouch_styles: list[str], pienet: bool = True) -> Job:
    """Queue rendering of photos × styles as one job with progress.

    Retouching users render on the cpu queue (no model needed); then, when a model is active, the
    gpu stage renders PieNet with each of the model's training-user vectors and embeds every new
    candidate with that model's embedding network.
    """
    if not photos:
        raise ServiceError("No photos to render; import some with `manage.py import_photos DIR`.")
    for name in retouch_styles:
        try:
            get_style(name)
        except KeyError as error:
            raise ServiceError(error.args[0]) from None
    version = core_selectors.active_model_version()
    if not retouch_styles and (version is None or not pienet):
        raise ServiceError("Nothing to render: no retouching styles and no active model for PieNet styles.")
    params = {
        "photo_ids": [photo.pk for photo in photos],
        "retouch_styles": list(retouch_styles),
        "pienet_styles": list(version.styles) if (version is not None and pienet) else [],
    }
    with transaction.atomic():
        job = core_services.job_create(kind=Job.Kind.CANDIDATES, model_version=version, params=params)
        from webapp.participants.tasks import render_retouch_candidates

        render_retouch_candidates.delay_on_commit(str(job.pk))
    return job


def candidates_requeue_if_stuck(*, job: Job) -> bool:
    """A candidates job whose worker was lost starts again from its first (cpu) stage, which skips what is done."""
    from webapp.participants.tasks import render_retouch_candidates

    return core_services.job_requeue_if_stuck(job=job, task=render_retouch_candidates)


def candidate_source(photo: Photo) -> np.ndarray:
    """The photo at candidate size, from its screen rendition when there is one (cheaper to decode)."""
    return fit_within(photo_pixels(photo, "screen"), CANDIDATE_SIZE)


def _store_candidate_images(photo: Photo, key: str, pixels) -> tuple[str, str]:
    """Store the rendering and its thumbnail under names that do not reveal the style."""
    image = store_once(f"candidates/{photo.content_hash[:16]}/{key}.jpg", encode_jpeg(pixels, CANDIDATE_QUALITY))
    small = fit_within(pixels, CANDIDATE_THUMBNAIL_SIZE)
    thumbnail = store_once(
        f"candidates/{photo.content_hash[:16]}/{key}_t.jpg", encode_jpeg(small, CANDIDATE_THUMBNAIL_QUALITY)
    )
    return image, thumbnail


def item_image(*, item: SetItem, size: str) -> bytes:
    """A shown item's image ("screen" or "thumb") as its participant gets it: the shared rendering with a
    variation keyed by the item, so people comparing their copies cannot match them byte for byte."""
    field, quality = (
        (item.candidate.image, CANDIDATE_QUALITY) if size == "screen"
        else (item.candidate.thumbnail, CANDIDATE_THUMBNAIL_QUALITY)
    )
    return stored_variant(field.name, keyed_seed("picking", item.token, size), quality)


def _candidate_key(*parts: str) -> str:
    """Storage name of a rendering: stable for its (photo, kind, model, style), and keyed with the secret
    because all of those are public (anyone could otherwise compute every style's name)."""
    return keyed_digest("candidate", *parts)[:24]


def candidates_render_retouch(*, job_id: str) -> bool:
    """CPU stage: every (photo, retouching user) not rendered yet. Returns True when a gpu stage follows."""
    job = core_selectors.job_get(job_id)
    if job is None or not core_services.job_start(job=job):
        return False
    photos = list(Photo.objects.filter(pk__in=job.params["photo_ids"]))
    styles = job.params["retouch_styles"]
    has_gpu_stage = job.model_version_id is not None
    share = 50 if has_gpu_stage else 100
    done, total, rendered = 0, max(1, len(photos) * len(styles)), 0
    for photo in photos:
        existing = set(Candidate.objects.filter(photo=photo, kind=Candidate.Kind.RETOUCH).values_list("style", flat=True))
        todo = [name for name in styles if name not in existing]
        source = candidate_source(photo).astype(np.float32) / 255 if todo else None
        for name in todo:
            output = STYLES[name](source)
            image, thumbnail = _store_candidate_images(photo, _candidate_key(photo.content_hash, "retouch", name), output)
            _, created = Candidate.objects.get_or_create(
                photo=photo, kind=Candidate.Kind.RETOUCH, style=name,
                defaults={"image": image, "thumbnail": thumbnail},
            )
            rendered += created
            done += 1
            core_services.job_progress(job_id=job.pk, percent=5 + (share - 5) * done // total)
        done += len(styles) - len(todo)
    summary = {"retouch_rendered": rendered, "photos": len(photos)}
    if has_gpu_stage:
        core_services.job_record_result(job_id=job.pk, result=summary)
        from webapp.participants.tasks import render_pienet_candidates

        render_pienet_candidates.delay_on_commit(str(job.pk))
        return True
    summary["note"] = "No model is active: embeddings are computed by `manage.py embed_candidates` once one is."
    core_services.job_succeed(job=job, result=summary)
    return False


def candidates_render_pienet_and_embed(*, job_id: str) -> None:
    """GPU stage: PieNet renderings with the model's training users, then embeddings of every
    candidate of the job's photos that has none from this model yet (computed once, stored)."""
    job = core_selectors.job_get(job_id)
    if job is None or job.status in (Job.Status.SUCCEEDED, Job.Status.FAILED):
        return
    version = job.model_version
    enhancer = enhancer_for(version)
    photos = list(Photo.objects.filter(pk__in=job.params["photo_ids"]))
    styles = job.params.get("pienet_styles", [])
    rendered = 0
    for index, photo in enumerate(photos):
        existing = set(
            Candidate.objects.filter(photo=photo, kind=Candidate.Kind.PIENET, model_version=version).values_list(
                "style", flat=True
            )
        )
        todo = [name for name in styles if name not in existing]
        if todo:
            source = candidate_source(photo)
            outputs = enhancer.enhance_batch([source] * len(todo), todo)
            for name, output in zip(todo, outputs):
                key = _candidate_key(photo.content_hash, "pienet", version.sha256, name)
                image, thumbnail = _store_candidate_images(photo, key, output)
                _, created = Candidate.objects.get_or_create(
                    photo=photo, kind=Candidate.Kind.PIENET, style=name, model_version=version,
                    defaults={"image": image, "thumbnail": thumbnail},
                )
                rendered += created
        core_services.job_progress(job_id=job.pk, percent=50 + 30 * (index + 1) // max(1, len(photos)))
    embedded = candidates_embed(model_version=version, photo_ids=job.params["photo_ids"], enhancer=enhancer)
    result = {**job.result, "pienet_rendered": rendered, "embedded": embedded, "model_version": version.name}
    core_services.job_succeed(job=job, result=result)


def candidates_embed(
    *, model_version: ModelVersion, photo_ids=None, enhancer=None, batch_size: int = 16, progress=None
) -> int:
    """Store the embedding of each candidate not yet embedded by `model_version`; returns how many.

    `progress` wraps the sequence of batch starts (a tqdm bar in the command)."""
    enhancer = enhancer or enhancer_for(model_version)
    pending = Candidate.objects.exclude(embedding_model_version=model_version).exclude(image="")
    if photo_ids is not None:
        pending = pending.filter(photo_id__in=photo_ids)
    count = 0
    ids = list(pending.values_list("pk", flat=True))
    starts = range(0, len(ids), batch_size)
    for start in progress(starts) if progress else starts:
        batch = list(Candidate.objects.filter(pk__in=ids[start:start + batch_size]))
        images = [stored_pixels(candidate.image.name) for candidate in batch]
        vectors = enhancer.embed(images).cpu().numpy().astype("<f4")
        for candidate, vector in zip(batch, vectors):
            Candidate.objects.filter(pk=candidate.pk).update(
                embedding=vector.tobytes(), embedding_model_version=model_version
            )
        count += len(batch)
    return count


# --- Joining --------------------------------------------------------------------------------


def recruitment_from_params(params) -> tuple[str, str, dict]:
    """(source, recruitment id, extra params) from a link's query parameters (Prolific or MTurk)."""
    def value(name: str) -> str:
        return (params.get(name) or "").strip()

    if value("PROLIFIC_PID"):
        source, recruitment_id = Participant.Source.PROLIFIC, value("PROLIFIC_PID")
        extra = {name: value(name) for name in ("STUDY_ID", "SESSION_ID") if value(name)}
    elif value("workerId"):
        if value("assignmentId") == MTURK_PREVIEW_ASSIGNMENT:
            raise ServiceError("This is a preview of the task: accept the HIT on Mechanical Turk to take part.")
        source, recruitment_id = Participant.Source.MTURK, value("workerId")
        extra = {name: value(name) for name in ("assignmentId", "hitId", "turkSubmitTo") if value(name)}
    else:
        return Participant.Source.DIRECT, "", {}
    if not RECRUITMENT_ID.match(recruitment_id):
        raise ServiceError("The link's participant id is malformed; please use the link from the recruitment site.")
    for name, extra_value in extra.items():
        if len(extra_value) > 200:
            raise ServiceError(f"The link's {name} is too long.")
    return source, recruitment_id, extra


def participant_join(
    *, picking_round: PickingRound, params, consent: bool, via_study: bool = False
) -> tuple[Participant, bool]:
    """Start (or resume) a participant after consent. Returns (participant, created).

    A recruitment id joins a round once: coming back with an unfinished session resumes it (no
    picks lost when a browser is closed); coming back after finishing is refused. A round run by a
    study is joined only through the study (`via_study`), whose page, quota and entry come with it.
    """
    if picking_round.studies_ref and not via_study:
        raise ServiceError("This study is taken through its own page; please use the link you were given.")
    if not picking_round.is_open:
        raise ServiceError("This study is closed.")
    if not consent:
        raise ServiceError("Please read the information and agree before taking part.")
    source, recruitment_id, extra = recruitment_from_params(params)
    if recruitment_id:
        existing = Participant.objects.filter(
            picking_round=picking_round, source=source, recruitment_id=recruitment_id
        ).first()
        if existing is not None:
            if existing.finished_at is not None:
                raise AlreadyParticipated("You have already taken part in this study. Thank you!")
            return existing, False
    try:
        with transaction.atomic():
            participant = Participant.objects.create(
                picking_round=picking_round, source=source, recruitment_id=recruitment_id,
                recruitment_params=extra, consented_at=timezone.now(),
            )
    except IntegrityError:  # the same recruitment id joined at the same moment in another tab
        return participant_join(picking_round=picking_round, params=params, consent=consent, via_study=via_study)
    logger.info("participant_joined", extra={"pseudonym": participant.pseudonym, "source": source})
    return participant, True


# --- Picking --------------------------------------------------------------------------------


def _lock(participant: Participant) -> Participant:
    """The participant's row, locked for this transaction, with the round object the caller already has."""
    locked = Participant.objects.select_for_update().get(pk=participant.pk)
    locked.picking_round = participant.picking_round
    return locked


def _choose_set_candidates(participant: Participant, set_size: int, rng: random.Random) -> list[Candidate]:
    """Distinct photos, one candidate each, styles as varied as possible; candidates this participant
    has not seen come first (re-shown only when the pool runs out)."""
    version = core_selectors.active_model_version()
    eligible = selectors.eligible_candidates(version)
    if participant.picking_round.pool_photos.exists():
        eligible = eligible.filter(photo__in=participant.picking_round.pool_photos.all())
    pool = list(eligible.values_list("pk", "photo_id", "style"))
    seen = selectors.shown_candidate_ids(participant)
    rng.shuffle(pool)
    pool.sort(key=lambda row: row[0] in seen)  # stable: unseen first, shuffled within each group
    by_photo: dict[int, list[tuple[int, str]]] = {}
    for candidate_id, photo_id, style in pool:
        by_photo.setdefault(photo_id, []).append((candidate_id, style))
    chosen, styles_used = [], set()
    for _photo_id, options in list(by_photo.items())[:set_size]:
        candidate_id, style = min(options, key=lambda option: (option[0] in seen, option[1] in styles_used))
        chosen.append(candidate_id)
        styles_used.add(style)
    if len(chosen) < 2:
        raise ServiceError("The study has no images to show yet; please come back later.")
    ordered = {candidate.pk: candidate for candidate in Candidate.objects.filter(pk__in=chosen)}
    return [ordered[candidate_id] for candidate_id in chosen]


def pick_set_current(*, participant: Participant, rng: random.Random | None = None) -> PickSet | None:
    """The participant's open set, or a new random one; None once the pick range is full or finished."""
    with transaction.atomic():
        participant = _lock(participant)
        current = selectors.open_set(participant)
        if current is not None:
            return current
        if participant.finished_at or selectors.participant_pick_count(participant) >= participant.picking_round.max_picks:
            return None
        candidates = _choose_set_candidates(participant, participant.picking_round.set_size, rng or random.Random())
        number = participant.sets.count() + 1
        pick_set = PickSet.objects.create(participant=participant, number=number)
        SetItem.objects.bulk_create(
            SetItem(pick_set=pick_set, candidate=candidate, photo_id=candidate.photo_id, position=position)
            for position, candidate in enumerate(candidates)
        )
    return pick_set


def item_choose(*, participant: Participant, token: str, liked: bool) -> SetItem:
    """Pick (liked=True) or un-pick an image of the open set. Repeating a request changes nothing."""
    with transaction.atomic():
        participant = _lock(participant)
        item = selectors.item_for_participant(participant, token)
        if item is None:
            raise ServiceError("No such image in this session.")
        wanted = True if liked else None
        if item.pick_set.submitted_at is not None:
            if bool(item.liked) == bool(liked):
                return item  # a repeated request for a set that was submitted meanwhile
            raise Conflict("This set was already submitted; its choices are final.")
        if item.liked == wanted:
            return item
        if liked and selectors.participant_pick_count(participant) >= participant.picking_round.max_picks:
            raise Conflict(f"You have picked the maximum of {participant.picking_round.max_picks} images.")
        item.liked = wanted
        item.decided_at = timezone.now() if liked else None
        item.save(update_fields=["liked", "decided_at"])
    return item


def _submit(pick_set: PickSet) -> None:
    """Close a set: whatever was shown and not picked becomes a negative label, time-stamped."""
    now = timezone.now()
    pick_set.items.filter(liked__isnull=True).update(liked=False, decided_at=now)
    PickSet.objects.filter(pk=pick_set.pk, submitted_at__isnull=True).update(submitted_at=now)


def pick_set_submit(*, participant: Participant, number: int) -> PickSet:
    """Submit set `number` (idempotent: a set already submitted is returned as it is)."""
    with transaction.atomic():
        participant = _lock(participant)
        pick_set = participant.sets.filter(number=number).first()
        if pick_set is None:
            raise ServiceError(f"No set number {number} in this session.")
        if pick_set.submitted_at is None:
            _submit(pick_set)
            pick_set.refresh_from_db()
    return pick_set


def participant_finish(*, participant: Participant) -> Job | None:
    """End picking (within the round's range), then queue the preference vector.

    Idempotent: finishing again returns the same job. Returns None when no model is active yet:
    the picks are kept and a vector can be computed later (`manage.py compute_preferences`).
    """
    with transaction.atomic():
        participant = _lock(participant)
        if participant.finished_at is None:
            picks = selectors.participant_pick_count(participant)
            if picks < participant.picking_round.min_picks:
                raise Conflict(f"Pick at least {participant.picking_round.min_picks} images first ({picks} so far).")
            current = selectors.open_set(participant)
            if current is not None:
                _submit(current)
            participant.finished_at = timezone.now()
            participant.save(update_fields=["finished_at"])
            logger.info("participant_finished", extra={"pseudonym": participant.pseudonym, "picks": picks})
        return preference_request(participant=participant)


def preference_request(*, participant: Participant, model_version: ModelVersion | None = None) -> Job | None:
    """Queue (once per model version) the preference-vector job for `model_version` (default: the active
    model; a study names the version it is pinned to); None without one."""
    version = model_version or core_selectors.active_model_version()
    if version is None:
        return None
    existing = selectors.preference_job(participant, version)
    if existing is not None:
        return existing
    from webapp.participants.tasks import compute_preference

    job = core_services.job_create(
        kind=Job.Kind.PREFERENCE, model_version=version, params={"participant": str(participant.pk)}
    )
    compute_preference.delay_on_commit(str(job.pk))
    return job


# --- Preference vector and preview ----------------------------------------------------------


def preference_compute(*, job_id: str, rng: random.Random | None = None) -> None:
    """Worker side of `preference_request`: the vector from stored embeddings (no network call),
    its consistency, then the preview enhancements on the gpu queue."""
    job = core_selectors.job_get(job_id)
    if job is None or not core_services.job_start(job=job):
        return
    participant = Participant.objects.select_related("picking_round").get(pk=job.params["participant"])
    started = time.perf_counter()
    with transaction.atomic():
        preference = preference_vector_store(participant=participant, model_version=job.model_version, job=job)
        core_services.job_progress(job_id=job.pk, percent=50)
        previews = _request_previews(preference, participant.picking_round.preview_count, rng or random.Random())
    core_services.job_succeed(
        job=job,
        result={
            "preference_id": preference.pk, "consistency": preference.consistency, "positives": preference.positives,
            "negatives": preference.negatives, "scheme": preference.scheme,
            "seconds": round(time.perf_counter() - started, 4), "preview_jobs": [str(item.job_id) for item in previews],
        },
    )


def preference_vector_store(*, participant: Participant, model_version: ModelVersion, job: Job | None = None
                            ) -> PreferenceVector:
    """The participant's vector in `model_version`'s space, from the stored embeddings of their picks (no
    network call) by their round's scheme, with its consistency; stored once per (participant, version)."""
    positives, negatives = [], []
    for item in selectors.labelled_items(participant):
        if item.candidate.embedding_model_version_id == model_version.pk:
            (positives if item.liked else negatives).append(item.candidate.embedding_array())
    if not positives:
        raise ServiceError(
            f"None of the picked images has an embedding from model {model_version.name} yet; "
            "run `manage.py embed_candidates` and compute the vector again."
        )
    positive_matrix = torch.from_numpy(np.stack(positives))
    scheme = participant.picking_round.scheme
    if scheme == PickingRound.Scheme.TRIPLET and negatives:
        vector = optimize_vector(positive_matrix, torch.from_numpy(np.stack(negatives)))
    else:
        vector = mean_vector(positive_matrix)
    preference, _ = PreferenceVector.objects.update_or_create(
        participant=participant, model_version=model_version,
        defaults={
            "scheme": scheme, "vector": vector.numpy().astype("<f4").tobytes(),
            "consistency": consistency(positive_matrix), "positives": len(positives), "negatives": len(negatives),
            "job": job,
        },
    )
    return preference


def preferences_recompute_request(*, model_version: ModelVersion) -> Job | None:
    """Queue (once) the background job that gives every finished participant a vector in `model_version`'s
    embedding after a model switch; None when nobody lacks one. Their older vectors stay valid for their own
    version (an enhancement names the version its vector belongs to) until then."""
    if not selectors.finished_participants_without_vector(model_version).exists():
        return None
    pending = selectors.recompute_job_pending(model_version)
    if pending is not None:
        return pending
    from webapp.participants.tasks import recompute_preferences

    job = core_services.job_create(kind=Job.Kind.RECOMPUTE, model_version=model_version)
    recompute_preferences.delay_on_commit(str(job.pk))
    return job


def preferences_recompute(*, job_id: str) -> None:
    """Worker side: embed the candidates with the job's model (half the progress), then store the vector of
    every finished participant who has none for it. Previews are not redone: people saw theirs already."""
    job = core_selectors.job_get(job_id)
    if job is None or not core_services.job_start(job=job):
        return
    version = job.model_version
    embedded = candidates_embed(model_version=version)
    core_services.job_progress(job_id=job.pk, percent=50)
    participants = list(selectors.finished_participants_without_vector(version).select_related("picking_round"))
    computed = 0
    for index, participant in enumerate(participants):
        try:
            preference_vector_store(participant=participant, model_version=version)
            computed += 1
        except ServiceError:  # none of their picks has an embedding from this model
            logger.warning("preference_not_recomputed", extra={"pseudonym": participant.pseudonym})
        core_services.job_progress(job_id=job.pk, percent=50 + 50 * (index + 1) // len(participants))
    result = {"model_version": version.name, "embedded": embedded, "vectors": computed,
              "skipped": len(participants) - computed}
    logger.info("preferences_recomputed", extra=result)
    core_services.job_succeed(job=job, result=result)


def _request_previews(preference: PreferenceVector, count: int, rng: random.Random) -> list[PreviewItem]:
    """Enhance `count` photos the participant did not pick (never-shown photos first)."""
    existing = list(preference.previews.all())
    if existing or count == 0:
        return existing
    participant = preference.participant
    picked, shown = selectors.picked_photo_ids(participant), selectors.shown_photo_ids(participant)
    options = [photo for photo in selectors.photos_with_screen().exclude(pk__in=picked)]
    rng.shuffle(options)
    options.sort(key=lambda photo: photo.pk in shown)
    if not options:
        raise ServiceError("There is no photo left to preview that the participant did not pick.")
    vector = preference.vector_array()
    items = []
    for position, photo in enumerate(options[:count]):
        job = core_services.enhancement_request_vector(
            photo=photo, vector=vector, model_version=preference.model_version
        )
        items.append(PreviewItem.objects.create(preference=preference, photo=photo, job=job, position=position))
    return items


# --- Rounds ---------------------------------------------------------------------------------


def picking_round_check(*, min_picks: int, max_picks: int, set_size: int, scheme: str) -> None:
    """A round's own rules; a study checks its configuration with them before it changes anything."""
    if not 1 <= min_picks <= max_picks:
        raise ServiceError(f"The pick range must satisfy 1 ≤ min ≤ max, got {min_picks}–{max_picks}.")
    if set_size < 2:
        raise ServiceError("A set shows at least 2 images.")
    if scheme not in PickingRound.Scheme.values:
        raise ServiceError(f"Unknown scheme {scheme!r}; use one of {', '.join(PickingRound.Scheme.values)}.")


def picking_round_create(
    *, slug: str, title: str, consent_text: str, min_picks: int = 10, max_picks: int = 20, set_size: int = 8,
    scheme: str = PickingRound.Scheme.MEAN, preview_count: int = 3, completion_url: str = "",
    studies_ref: str = "", is_open: bool = True,
) -> PickingRound:
    """A new round; one run by a study names it in `studies_ref` (joined only through the study's pages)."""
    picking_round_check(min_picks=min_picks, max_picks=max_picks, set_size=set_size, scheme=scheme)
    if PickingRound.objects.filter(slug=slug).exists():
        raise ServiceError(f"A picking round {slug!r} exists already.")
    return PickingRound.objects.create(
        slug=slug, title=title, consent_text=consent_text, min_picks=min_picks, max_picks=max_picks,
        set_size=set_size, scheme=scheme, preview_count=preview_count, completion_url=completion_url,
        studies_ref=studies_ref, is_open=is_open,
    )


def picking_round_update(
    *, picking_round: PickingRound, title: str, consent_text: str, min_picks: int, max_picks: int, set_size: int,
    scheme: str, pool_photos=None,
) -> PickingRound:
    """Change a round's texts and picking rules (and its photo pool, when `pool_photos` is given)."""
    picking_round_check(min_picks=min_picks, max_picks=max_picks, set_size=set_size, scheme=scheme)
    picking_round.title, picking_round.consent_text = title, consent_text
    picking_round.min_picks, picking_round.max_picks = min_picks, max_picks
    picking_round.set_size, picking_round.scheme = set_size, scheme
    picking_round.save()
    if pool_photos is not None:
        picking_round.pool_photos.set(pool_photos)
    return picking_round


def picking_round_set_open(*, picking_round_id: int, is_open: bool) -> None:
    """Open or close a round to new participants (a study opens and closes its round with itself)."""
    PickingRound.objects.filter(pk=picking_round_id).update(is_open=is_open)
