"""Read-side queries of the participant flow."""
import csv
from collections import defaultdict

from django.db.models import Exists, OuterRef, QuerySet

from webapp.core import selectors as core_selectors
from webapp.core.models import Job, ModelVersion, Photo
from webapp.participants.models import (
    Candidate, Participant, PickingRound, PickSet, PreferenceVector, PreviewItem, SetItem,
)


def picking_round_get(slug: str) -> PickingRound | None:
    return PickingRound.objects.filter(slug=slug).first()


def picking_round_list_open() -> QuerySet[PickingRound]:
    """Open rounds of their own; a study's round is entered through the study's link only."""
    return PickingRound.objects.filter(is_open=True, studies_ref="")


def participant_get(participant_id, picking_round: PickingRound) -> Participant | None:
    if not participant_id:
        return None
    participant = Participant.objects.filter(pk=participant_id, picking_round=picking_round).first()
    if participant is not None:
        participant.picking_round = picking_round  # the caller's object: its relations are often loaded already
    return participant


def participant_pick_count(participant: Participant) -> int:
    return SetItem.objects.filter(pick_set__participant=participant, liked=True).count()


def open_set(participant: Participant) -> PickSet | None:
    return participant.sets.filter(submitted_at__isnull=True).first()


def set_items(pick_set: PickSet) -> QuerySet[SetItem]:
    return pick_set.items.order_by("position")


def item_by_token(token: str) -> SetItem | None:
    """A shown item by its token, with its candidate and whom it was shown to."""
    return SetItem.objects.select_related("candidate", "pick_set__participant").filter(token=token).first()


def item_for_participant(participant: Participant, token: str) -> SetItem | None:
    return (
        SetItem.objects.select_related("pick_set", "candidate")
        .filter(token=token, pick_set__participant=participant)
        .first()
    )


def eligible_candidates(model_version: ModelVersion | None) -> QuerySet[Candidate]:
    """Candidates a set may show. With an active model, only those embedded by it (so every pick
    counts towards the vector) — unless none are, in which case picking still works on renderings."""
    ready = Candidate.objects.exclude(image="").exclude(thumbnail="")
    if model_version is not None:
        embedded = ready.filter(embedding_model_version=model_version)
        if embedded.exists():
            return embedded
    return ready


def shown_candidate_ids(participant: Participant) -> set[int]:
    return set(SetItem.objects.filter(pick_set__participant=participant).values_list("candidate_id", flat=True))


def picked_photo_ids(participant: Participant) -> set[int]:
    return set(
        SetItem.objects.filter(pick_set__participant=participant, liked=True).values_list("photo_id", flat=True)
    )


def shown_photo_ids(participant: Participant) -> set[int]:
    return set(SetItem.objects.filter(pick_set__participant=participant).values_list("photo_id", flat=True))


def candidates_exist() -> bool:
    return Candidate.objects.exists()


def candidates_job_in_progress() -> bool:
    """Whether candidates are being rendered (a candidates job queued or running)."""
    return Job.objects.filter(kind=Job.Kind.CANDIDATES, status__in=[Job.Status.QUEUED, Job.Status.RUNNING]).exists()


def photos_with_screen() -> QuerySet[Photo]:
    return Photo.objects.exclude(screen="")


def labelled_items(participant: Participant) -> QuerySet[SetItem]:
    """Decided items (picks and non-picks) with what the vector computation needs."""
    return SetItem.objects.filter(pick_set__participant=participant, liked__isnull=False).select_related("candidate")


def preference_job(participant: Participant, model_version: ModelVersion | None = None) -> Job | None:
    """The newest preference job of this participant (for one model version) that did not fail."""
    jobs = Job.objects.filter(kind=Job.Kind.PREFERENCE, params__participant=str(participant.pk))
    if model_version is not None:
        jobs = jobs.filter(model_version=model_version)
    return jobs.exclude(status=Job.Status.FAILED).order_by("-created_at").first()


def recompute_job_pending(model_version: ModelVersion) -> Job | None:
    """The queued or running job recomputing vectors for `model_version`."""
    return Job.objects.filter(
        kind=Job.Kind.RECOMPUTE, model_version=model_version, status__in=[Job.Status.QUEUED, Job.Status.RUNNING]
    ).first()


def preference_job_failed(participant: Participant) -> Job | None:
    """A failed preference job of this participant, when there is one."""
    return Job.objects.filter(kind=Job.Kind.PREFERENCE, params__participant=str(participant.pk)).first()


def participant_state(participant: Participant, current_set: PickSet | None = None) -> dict:
    """Everything the picking page needs to (re)draw itself (`serializers.ParticipantStateSerializer`)."""
    picking_round = participant.picking_round
    picks = participant_pick_count(participant)
    current = current_set if current_set is not None and current_set.submitted_at is None else None
    return {
        "pseudonym": participant.pseudonym,
        "round": picking_round,
        "picks": picks,
        "can_finish": picks >= picking_round.min_picks,
        "finished": participant.finished_at is not None,
        "current_set": current or open_set(participant),
        "preference_job": preference_job(participant) if participant.finished_at else None,
    }


def preview_state(participant: Participant) -> dict:
    """The preview page's state (`serializers.PreviewSerializer`): where the vector and the preview renderings
    are, or why there are none."""
    state = {"status": "picking", "message": "", "preference_job": None, "items": [],
             "completion_url": participant.picking_round.completion_url}
    if participant.finished_at is None:
        state["message"] = "Finish picking first."
        return state
    job = preference_job(participant)
    preference = latest_preference(participant)
    if job is None and preference is None:
        failed = preference_job_failed(participant)
        if failed is not None:
            state.update(status="failed", message=failed.error, preference_job=failed)
        elif core_selectors.active_model_version() is None:
            state.update(status="no_model", message=(
                "Thank you, your picks are saved. Personalized previews need a trained model, "
                "which is not available yet."
            ))
        return state
    state["preference_job"] = job
    if preference is None:
        state.update(status="computing", message="Working out your taste from your picks…")
        return state
    state.update(status="ready", message="Your photos, enhanced the way you like them.")
    state["items"] = [
        {"position": item.position, "before_url": item.photo.screen.url, "job": item.job}
        for item in preference.previews.all()
    ]
    return state


def finished_participants_without_vector(model_version: ModelVersion, picking_round: PickingRound | None = None):
    participants = Participant.objects.filter(finished_at__isnull=False).exclude(vectors__model_version=model_version)
    return participants.filter(picking_round=picking_round) if picking_round is not None else participants


def latest_preference(participant: Participant) -> PreferenceVector | None:
    """The newest vector the participant saw previews of (vectors recomputed after a model switch have
    none), else the newest."""
    has_previews = Exists(PreviewItem.objects.filter(preference=OuterRef("pk")))
    return (
        participant.vectors.select_related("model_version").prefetch_related("previews__job", "previews__photo")
        .order_by(has_previews.desc(), "-created_at").first()
    )


def label_matrix(picking_round: PickingRound | None = None) -> tuple[list[str], list[tuple[str, dict[str, int]]]]:
    """Candidate × participant labels: 1 = picked, 0 = shown but not picked; absent = never decided.

    A candidate shown to one participant more than once counts as liked if it was ever picked.
    Returns (participant pseudonyms, [(candidate label, {pseudonym: label})]).
    """
    items = SetItem.objects.filter(liked__isnull=False).select_related(
        "candidate__photo", "candidate__model_version", "pick_set__participant"
    )
    if picking_round is not None:
        items = items.filter(pick_set__participant__picking_round=picking_round)
    rows: dict[int, tuple[str, dict[str, int]]] = {}
    participants: set[str] = set()
    for item in items.iterator(chunk_size=2000):
        pseudonym = item.pick_set.participant.pseudonym
        participants.add(pseudonym)
        _, labels = rows.setdefault(item.candidate_id, (item.candidate.label, defaultdict(int)))
        labels[pseudonym] = max(labels[pseudonym], int(item.liked))
    return sorted(participants), [rows[key] for key in sorted(rows)]


def write_label_matrix_csv(stream, picking_round: PickingRound | None = None) -> int:
    """Write the label matrix as CSV (first column the candidate); returns the number of rows."""
    pseudonyms, rows = label_matrix(picking_round)
    writer = csv.writer(stream)
    writer.writerow(["candidate", *pseudonyms])
    for label, labels in rows:
        writer.writerow([label, *(labels.get(name, "") for name in pseudonyms)])
    return len(rows)
