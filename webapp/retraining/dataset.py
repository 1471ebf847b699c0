"""The label dataset of a run: every eligible participant's picks and non-picks (plus style rehearsal)
exported into a folder that `ml.training.finetune` reads, with a snapshot of what went in."""

from dataclasses import dataclass
from pathlib import Path

from django.conf import settings

from ml.config import ModelConfig
from ml.data.labels import LabelDatasetWriter, UserLabels
from ml.images import resize_image
from webapp.core.errors import ServiceError
from webapp.core.imaging import stored_pixels
from webapp.core.models import ModelVersion
from webapp.participants.models import Candidate, Participant
from webapp.participants.services import CANDIDATE_SIZE, candidate_source
from webapp.retraining import selectors
from webapp.retraining.selectors import MIN_NON_PICKS, LabelSummary


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


def _participant_users(summary: LabelSummary, exporter: _Exporter, reporter) -> tuple[list[UserLabels], dict]:
    """One user per eligible participant (picks as positives, the rest shown as negatives), and how many
    participants each picking round gave."""
    candidate_ids = {candidate for participant in summary.eligible for candidate in summary.labels[participant]}
    candidates = Candidate.objects.select_related("photo").in_bulk(candidate_ids)
    participants = Participant.objects.select_related("picking_round").in_bulk(summary.eligible)
    users, rounds = [], {}
    for index, participant_id in enumerate(summary.eligible):
        participant, labels = participants[participant_id], summary.labels[participant_id]
        positives = [exporter.candidate(candidates[candidate]) for candidate, liked in labels.items() if liked]
        negatives = [exporter.candidate(candidates[candidate]) for candidate, liked in labels.items() if not liked]
        pairs = [
            (f"photo-{candidates[candidate].photo_id}", f"cand-{candidate}")
            for candidate, liked in labels.items()
            if liked
        ]
        users.append(UserLabels(participant.pseudonym, "participant", positives, negatives, pairs))
        rounds[participant.picking_round.slug] = rounds.get(participant.picking_round.slug, 0) + 1
        reporter.progress("dataset", 0.8 * (index + 1) / len(summary.eligible))
    return users, rounds


def _style_examples(styles: list[str], per_style: int) -> dict[str, list[Candidate]]:
    """Ground-truth renderings (retouching users, made without a model) of the named styles, the same photos
    for every style as far as possible so that other styles' renderings are content-matched negatives."""
    examples = {}
    for style in styles:
        renders = Candidate.objects.filter(kind=Candidate.Kind.RETOUCH, style=style).exclude(image="")
        examples[style] = list(renders.select_related("photo").order_by("photo_id")[:per_style])
    return {style: found for style, found in examples.items() if found}


def _style_users(base: ModelVersion | None, per_style: int, exporter: _Exporter) -> tuple[list[UserLabels], dict]:
    """Style rehearsal: one user per named style of the base model (every retouching style from scratch),
    whose negatives are the photo itself and the other styles' renderings. Returns (users, examples)."""
    if base is not None:
        style_names = list(base.styles)
    else:
        style_names = sorted(set(Candidate.objects.filter(kind=Candidate.Kind.RETOUCH).values_list("style", flat=True)))
    examples = _style_examples(style_names, per_style) if per_style else {}
    style_positives = {
        style: [exporter.candidate(candidate) for candidate in found] for style, found in examples.items()
    }
    users = []
    for style, found in examples.items():
        inputs = sorted({f"photo-{candidate.photo_id}" for candidate in found})
        others = [key for other, keys in style_positives.items() if other != style for key in keys]
        users.append(
            UserLabels(
                style,
                "style",
                style_positives[style],
                inputs + others,
                [(f"photo-{candidate.photo_id}", f"cand-{candidate.pk}") for candidate in found],
            )
        )
    return users, examples


def dataset_build(*, labels_dir: Path, base: ModelVersion | None, style_examples: int, reporter) -> dict:
    """Write the label dataset of every eligible participant (plus style rehearsal) and return its snapshot.
    `reporter` is the run's `runner.Reporter` (progress of the "dataset" stage)."""
    summary = selectors.label_summary()
    labels_check_minimum(summary)
    exporter = _Exporter(LabelDatasetWriter(labels_dir), _export_size(base), {})
    users, rounds = _participant_users(summary, exporter, reporter)
    style_users, examples = _style_users(base, style_examples, exporter)
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
    exporter.writer.write(users + style_users, details=snapshot)
    return snapshot
