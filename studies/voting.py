"""Votes: exactly one per trial, in the order the trials are shown, and the study closing itself when its
quota of completed participants is reached.

A vote locks the trial row, and `Vote.trial` is one-to-one in the database, so a double submit, a resent
request after the back button or a second tab either returns the vote already cast (same choice) or is
refused (another choice): it never adds a second.
"""

import logging

from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from studies import selectors
from studies.models import Study, StudyParticipant, Trial, Vote
from webapp.core.errors import Conflict, ServiceError
from webapp.participants import services as participant_services

logger = logging.getLogger(__name__)

MAX_RESPONSE_MS = 6 * 60 * 60 * 1000
ALREADY_VOTED = "This photo already has your vote; it cannot be changed."


def trial_mark_shown(*, trial: Trial) -> None:
    """The first time a ready trial is sent: the server's start of the response time."""
    Trial.objects.filter(pk=trial.pk, shown_at__isnull=True).update(shown_at=timezone.now())


def vote_cast(*, entry: StudyParticipant, trial_token: str, option_token: str, response_ms: int) -> Vote:
    """Record the choice of the current trial; repeating the same choice returns the same vote. `entry`
    comes back with its check failures and completion up to date."""
    if not 0 <= response_ms <= MAX_RESPONSE_MS:
        raise ServiceError(f"response_ms must be between 0 and {MAX_RESPONSE_MS}.")
    try:
        with transaction.atomic():
            return _vote_cast(entry, trial_token, option_token, response_ms)
    except IntegrityError:  # a vote for this trial committed between our check and our insert
        vote = Vote.objects.select_related("option").filter(trial__token=trial_token).first()
        if vote is not None and vote.option.token == option_token:
            return vote
        raise Conflict(ALREADY_VOTED) from None


def _vote_cast(entry: StudyParticipant, trial_token: str, option_token: str, response_ms: int) -> Vote:
    """Only the trial row is locked: a participant's votes are serialised by the one-current-trial rule and
    the vote's unique trial, so votes of different participants never wait for each other."""
    trial = (
        Trial.objects.select_for_update(of=("self",))
        .select_related("vote__option")
        .filter(participant=entry, token=trial_token)
        .first()
    )
    if trial is None:
        raise ServiceError("No such trial in this session.")
    if hasattr(trial, "vote"):
        if trial.vote.option.token == option_token:
            return trial.vote
        raise Conflict(ALREADY_VOTED)
    if entry.trials.filter(vote__isnull=True, number__lt=trial.number).exists():
        raise Conflict("This is not the photo to vote on now; the page shows the current one.")
    option = trial.options.filter(token=option_token).first()
    if option is None:
        raise ServiceError("No such option in this trial.")
    if trial.shown_at is None:
        raise Conflict("This trial has not been shown yet.")
    now = timezone.now()
    vote = Vote.objects.create(
        trial=trial,
        option=option,
        response_ms=response_ms,
        server_ms=int((now - trial.shown_at).total_seconds() * 1000),
    )
    _entry_after_vote(entry, degraded=option.degraded, now=now)
    return vote


def _entry_after_vote(entry: StudyParticipant, *, degraded: bool, now) -> None:
    """Count a failed attention check and, after the last trial, the completion (which may fill the quota)."""
    updates = {}
    if degraded:
        updates["failed_checks"] = F("failed_checks") + 1
    if not entry.trials.filter(vote__isnull=True).exists():
        updates["completed_at"] = now
    if updates:
        StudyParticipant.objects.filter(pk=entry.pk).update(**updates)
        entry.refresh_from_db(fields=["failed_checks", "completed_at"])
    if "completed_at" in updates:
        _close_when_full(entry.study)
        logger.info(
            "study_participant_completed",
            extra={
                "study": entry.study.slug,
                "pseudonym": entry.participant.pseudonym,
                "passed": entry.passed_checks,
            },
        )


def _close_when_full(study: Study) -> None:
    """Completions of one study are counted one at a time (the study row's lock), so the quota is exact."""
    study = Study.objects.select_for_update().get(pk=study.pk)
    if study.is_open and selectors.completed_count(study) >= study.participant_quota:
        Study.objects.filter(pk=study.pk).update(is_open=False)
        participant_services.picking_round_set_open(picking_round_id=study.picking_round_id, is_open=False)
        logger.info("study_quota_reached", extra={"study": study.slug})
