"""Read-side queries of retraining: runs, and the labels participants gave (what a run would learn from)."""
import hashlib
from collections import defaultdict
from dataclasses import dataclass, field

from django.conf import settings
from django.db.models import QuerySet

from webapp.core.models import AuditEvent
from webapp.participants.models import SetItem
from webapp.retraining.models import RetrainingRun

# A participant needs a held-out non-pick and one to train on; picks need PIENET_RETRAIN_MIN_PICKS_PER_PARTICIPANT.
MIN_NON_PICKS = 2


def run_get(run_id) -> RetrainingRun | None:
    return RetrainingRun.objects.select_related(
        "base_version", "candidate_version", "requested_by", "cancel_requested_by"
    ).filter(pk=run_id).first()


def run_list() -> QuerySet[RetrainingRun]:
    return RetrainingRun.objects.select_related("base_version", "candidate_version", "requested_by")


def run_in_progress() -> RetrainingRun | None:
    return RetrainingRun.objects.filter(status__in=RetrainingRun.IN_PROGRESS).first()


def run_for_request(request_key: str) -> RetrainingRun | None:
    """The run that did or does the work of this request (failed and cancelled runs do not count)."""
    return RetrainingRun.objects.filter(request_key=request_key).exclude(
        status__in=[RetrainingRun.Status.FAILED, RetrainingRun.Status.CANCELLED]
    ).first()


def audit_list() -> QuerySet[AuditEvent]:
    return AuditEvent.objects.select_related("model_version", "previous_version")


@dataclass
class LabelSummary:
    """Participants' labels, one per (participant, candidate): picked if it was ever picked (as in the label
    export). `eligible` participants have enough picks and non-picks to be trained on and evaluated."""

    labels: dict = field(default_factory=dict)  # participant id -> {candidate id: picked}
    eligible: list = field(default_factory=list)
    items: int = 0
    digest: str = ""
    last_item_id: int | None = None
    last_decided_at: str | None = None

    @property
    def picks(self) -> int:
        return sum(sum(self.labels[participant].values()) for participant in self.eligible)

    @property
    def non_picks(self) -> int:
        return sum(len(self.labels[participant]) - sum(self.labels[participant].values()) for participant in self.eligible)


def label_summary() -> LabelSummary:
    rows = SetItem.objects.filter(liked__isnull=False).order_by("pk").values_list(
        "pk", "pick_set__participant_id", "candidate_id", "liked", "decided_at"
    )
    labels: dict = defaultdict(dict)
    digest = hashlib.sha256()
    summary = LabelSummary()
    for item_id, participant_id, candidate_id, liked, decided_at in rows.iterator(chunk_size=5000):
        labels[participant_id][candidate_id] = labels[participant_id].get(candidate_id, False) or liked
        digest.update(f"{item_id}:{int(liked)};".encode())
        summary.items += 1
        summary.last_item_id = item_id
        if decided_at and (summary.last_decided_at is None or decided_at.isoformat() > summary.last_decided_at):
            summary.last_decided_at = decided_at.isoformat()
    summary.labels = dict(labels)
    summary.digest = digest.hexdigest()
    minimum = settings.PIENET_RETRAIN_MIN_PICKS_PER_PARTICIPANT
    summary.eligible = sorted(
        (participant for participant, items in labels.items()
         if sum(items.values()) >= minimum and len(items) - sum(items.values()) >= MIN_NON_PICKS),
        key=str,
    )
    return summary
