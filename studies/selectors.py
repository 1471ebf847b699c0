"""Read-side queries of studies: configuration export, readiness, participant state, tally, exports."""
import hashlib
from pathlib import Path

from django.db.models import Count, Max, Q, QuerySet

from studies import statistics
from studies.models import Study, StudyMethod, StudyParticipant, Trial, TrialOption, Vote
from webapp.core import selectors as core_selectors
from webapp.core.caching import cached
from webapp.core.models import Job
from webapp.participants import selectors as participant_selectors
from webapp.participants.models import Candidate, PreferenceVector, SetItem

CONFIG_FORMAT = "pienet-study/1"
TALLY_BOOTSTRAP = 500


def study_get(slug: str) -> Study | None:
    return Study.objects.select_related("picking_round", "model_version").filter(slug=slug).first()


def study_list() -> QuerySet[Study]:
    return Study.objects.select_related("picking_round", "model_version").annotate(
        started=Count("participants", distinct=True),
        completed=Count("participants", filter=Q(participants__completed_at__isnull=False), distinct=True),
    ).order_by("-created_at", "-pk")  # aggregation drops Meta.ordering; pages need a stable order


def study_config(study: Study) -> dict:
    """The study's configuration in the export format: photos by content hash, the model by its hash."""
    picking_round = study.picking_round
    version = study.model_version
    return {
        "format": CONFIG_FORMAT,
        "slug": study.slug,
        "title": study.title,
        "consent_text": study.consent_text,
        "instructions": study.instructions,
        "min_picks": picking_round.min_picks,
        "max_picks": picking_round.max_picks,
        "set_size": picking_round.set_size,
        "scheme": picking_round.scheme,
        "pool_styles": list(study.pool_styles),
        "pool_photos": sorted(picking_round.pool_photos.values_list("content_hash", flat=True)),
        "voting_photos": sorted(study.voting_photos.values_list("content_hash", flat=True)),
        "model": {"name": version.name, "sha256": version.sha256} if version else None,
        "methods": [{"kind": m.kind, "style": m.style, "label": m.label} for m in study.methods.all()],
        "trials_per_participant": study.trials_per_participant,
        "attention_checks": study.attention_checks,
        "max_failed_checks": study.max_failed_checks,
        "participant_quota": study.participant_quota,
        "completion_code": study.completion_code,
        "completion_url": study.completion_url,
        "failed_code": study.failed_code,
        "failed_url": study.failed_url,
        "seed": study.seed,
    }


def study_problems(study: Study) -> list[str]:
    """What keeps the study from opening, as sentences for the researcher (empty: ready)."""
    problems = []
    methods = list(study.methods.all())
    if len(methods) < 2:
        problems.append("Add at least two methods.")
    needs_model = any(method.needs_model for method in methods)
    personal = any(method.kind == StudyMethod.Kind.PIENET_PERSONAL for method in methods)
    version, active = study.model_version, core_selectors.active_model_version()
    if needs_model and version is None:
        problems.append("PieNet methods need a model version.")
    elif needs_model and not Path(version.checkpoint_path).is_file():
        problems.append(f"The checkpoint of model {version.name} is missing ({version.checkpoint_path}).")
    if personal and version is not None and (active is None or active.pk != version.pk):
        problems.append(
            f"The study uses model {version.name} but the active model is {active.name if active else 'none'}: "
            "picking candidates are embedded by the active model, so activate the study's model."
        )
    needed = study.trials_per_participant + study.attention_checks
    ready = study.voting_photos.exclude(screen="").count()
    if ready < needed:
        problems.append(
            f"{ready} voting photos have their screen rendition (made by the cpu workers); {needed} needed."
        )
    picking_round = study.picking_round
    candidates = Candidate.objects.filter(photo__in=picking_round.pool_photos.all()).exclude(image="")
    if personal and version is not None:
        candidates = candidates.filter(embedding_model_version=version)
    with_candidates = candidates.values("photo").distinct().count()
    if with_candidates < picking_round.set_size:
        embedded = f" embedded by model {version.name}" if personal and version is not None else ""
        problems.append(
            f"{with_candidates} pool photos have picking candidates{embedded}; a set shows {picking_round.set_size}: "
            "prepare the pool."
        )
    return problems


def pool_job(study: Study) -> Job | None:
    """The latest job rendering this study's picking pool (candidates of exactly its photos), if any."""
    pool = set(study.picking_round.pool_photos.values_list("pk", flat=True))
    recent = Job.objects.filter(kind=Job.Kind.CANDIDATES).order_by("-created_at")[:20]
    return next((job for job in recent if set(job.params.get("photo_ids", [])) == pool), None)


def study_warnings(study: Study) -> list[str]:
    """Settings that do not stop a study from opening but that researchers should know about."""
    warnings = []
    if study.attention_checks and not (study.failed_code or study.failed_url):
        warnings.append(
            "Participants who fail the attention checks get no code and no link back to the recruiter (their end "
            "page says their answers cannot be used). Set a failed-checks code or URL if they should return one."
        )
    return warnings


def study_entry_get(participant) -> StudyParticipant | None:
    """A round participant's study entry, with its render job."""
    return StudyParticipant.objects.select_related("render_job").filter(participant=participant).first()


def option_by_token(token: str) -> TrialOption | None:
    """A trial option by its token, with whom its trial was made for."""
    return TrialOption.objects.select_related("trial__participant").filter(token=token).first()


def completed_count(study: Study) -> int:
    """Participants who completed every trial and passed the attention checks (what the quota counts)."""
    return study.participants.filter(
        completed_at__isnull=False, failed_checks__lte=study.max_failed_checks
    ).count()


def participant_vector(entry: StudyParticipant) -> PreferenceVector | None:
    return PreferenceVector.objects.filter(
        participant=entry.participant_id, model_version=entry.study.model_version_id
    ).first()


def current_trial(entry: StudyParticipant) -> Trial | None:
    """The first trial without a vote (trials are answered in order), with its options."""
    return entry.trials.filter(vote__isnull=True).prefetch_related("options").order_by("number").first()


def trial_ready(trial: Trial) -> bool:
    """Every option rendered (reads the options `current_trial` fetched with the trial)."""
    return all(option.image for option in trial.options.all())


def entry_status(entry: StudyParticipant) -> str:
    if entry.completed_at is not None:
        return "completed" if entry.passed_checks else "failed_checks"
    return "voting" if entry.participant.finished_at is not None else "picking"


def participant_state(entry: StudyParticipant) -> dict:
    """Where a participant is: picking, preparing (with progress), voting (the current trial), failed or done."""
    study, participant = entry.study, entry.participant
    state = {"stage": "picking", "percent": 0, "message": "", "trial": None, "total": 0, "done": None}
    if participant.finished_at is None:
        state["message"] = "Finish picking first."
        return state
    state["total"] = entry.trials.count()
    if entry.completed_at is not None:
        passed = entry.passed_checks
        code, url = (study.completion_code, study.completion_url) if passed else (study.failed_code, study.failed_url)
        state.update(stage="done", percent=100, message="Thank you, all your votes are recorded.")
        state["done"] = {"passed": passed, "code": code, "url": url.replace("{code}", code)}
        return state
    jobs = []
    if entry.render_job_id is None:
        preference = participant_selectors.preference_job(participant, study.model_version)
        failed = preference is None and Job.objects.filter(
            kind=Job.Kind.PREFERENCE, params__participant=str(participant.pk), status=Job.Status.FAILED
        ).first()
        if failed:
            state.update(stage="failed", message=failed.error)
            return state
        jobs.append((preference, 0, 30))
    else:
        job = entry.render_job
        if job.status == Job.Status.FAILED:
            state.update(stage="failed", message=job.error)
            return state
        jobs.append((job, 30, 100))
        trial = current_trial(entry)
        if trial is not None and trial_ready(trial):
            state.update(stage="voting", percent=100, trial=trial)
            return state
    percent = max((start + (end - start) * (job.progress if job else 0) // 100 for job, start, end in jobs), default=0)
    state.update(stage="preparing", percent=percent, message="Preparing your photos…")
    return state


# --- Tally ------------------------------------------------------------------------------------


def progress(study: Study) -> dict:
    """Live counts: who started, is picking or voting, completed, and who is excluded for what."""
    entries = study.participants.select_related("participant")
    counts = {"started": 0, "picking": 0, "voting": 0, "completed": 0, "failed_checks": 0}
    for entry in entries:
        counts["started"] += 1
        counts[entry_status(entry)] += 1
    counts["quota"] = study.participant_quota
    counts["votes"] = Vote.objects.filter(trial__study=study, trial__is_check=False).count()
    counts["excluded"] = {"failed_checks": counts["failed_checks"], "incomplete": counts["picking"] + counts["voting"]}
    return counts


def _choices(study: Study, methods: list[StudyMethod]) -> list[statistics.Choice]:
    index = {method.pk: position for position, method in enumerate(methods)}
    votes = Vote.objects.filter(
        trial__study=study, trial__is_check=False, trial__participant__completed_at__isnull=False,
        trial__participant__failed_checks__lte=study.max_failed_checks,
    ).select_related("option", "trial__participant__participant").order_by("pk")
    return [
        statistics.Choice(
            participant=vote.trial.participant.participant.pseudonym,
            winner=index[vote.option.method_id],
            losers=tuple(position for key, position in index.items() if key != vote.option.method_id),
            position=vote.option.position,
        )
        for vote in votes
    ]


def participant_breakdown(study: Study, methods: list[StudyMethod]) -> list[dict]:
    labels = {method.pk: method.label for method in methods}
    rows = []
    entries = study.participants.select_related("participant").annotate(
        voted=Count("trials__vote", filter=Q(trials__is_check=False)),
        checks_answered=Count("trials__vote", filter=Q(trials__is_check=True)),
    )
    votes = Vote.objects.filter(trial__study=study, trial__is_check=False).values_list(
        "trial__participant_id", "option__method_id", "response_ms"
    )
    per_entry: dict[int, tuple[dict, list]] = {}
    for entry_id, method_id, response_ms in votes:
        counts, times = per_entry.setdefault(entry_id, ({}, []))
        counts[labels[method_id]] = counts.get(labels[method_id], 0) + 1
        times.append(response_ms)
    for entry in entries:
        counts, times = per_entry.get(entry.pk, ({}, []))
        times = sorted(times)
        rows.append({
            "participant": entry.participant.pseudonym,
            "status": entry_status(entry),
            "included": entry.completed_at is not None and entry.passed_checks,
            "votes": entry.voted,
            "checks_answered": entry.checks_answered,
            "failed_checks": entry.failed_checks,
            "median_response_ms": times[len(times) // 2] if times else None,
            "by_method": {label: counts.get(label, 0) for label in labels.values()},
        })
    return rows


def study_tally(study: Study, bootstrap: int = TALLY_BOOTSTRAP) -> dict:
    """The full tally (cached until a vote, a completion or the methods change: the bootstrap is the cost)."""
    methods = list(study.methods.all())
    signature = Vote.objects.filter(trial__study=study).aggregate(count=Count("pk"), last=Max("pk"))
    completed = study.participants.filter(completed_at__isnull=False).count()
    labels = hashlib.sha256("|".join(f"{method.pk}={method.label}" for method in methods).encode()).hexdigest()[:16]
    key = f"studies:tally:{study.pk}:{signature['count']}:{signature['last']}:{completed}:{bootstrap}:{labels}"

    def compute() -> dict:
        result = statistics.tally([method.label for method in methods], _choices(study, methods), bootstrap, study.seed)
        return {**result, "participants": participant_breakdown(study, methods)}

    return {**cached(key, compute, 3600), "study": study.slug, "progress": progress(study)}


# --- Exports ----------------------------------------------------------------------------------


def vote_rows(study: Study) -> list[dict]:
    """One row per vote (attention checks included, flagged), with the whole position → method mapping."""
    method_count = study.methods.count()
    votes = Vote.objects.filter(trial__study=study).select_related(
        "option__method", "trial__photo", "trial__participant__participant"
    ).prefetch_related("trial__options__method").order_by("trial__participant__started_at", "trial__number")
    rows = []
    for vote in votes:
        trial, entry = vote.trial, vote.trial.participant
        options = sorted(trial.options.all(), key=lambda option: option.position)
        row = {
            "study": study.slug,
            "participant": entry.participant.pseudonym,
            "participant_status": entry_status(entry),
            "trial": trial.number,
            "is_check": trial.is_check,
            "sequence": trial.sequence,
            "photo": trial.photo.content_hash,
            "photo_title": trial.photo.title,
            "chosen_method": vote.option.method.label,
            "chosen_position": vote.option.position + 1,
            "chosen_degraded": vote.option.degraded,
            "response_ms": vote.response_ms,
            "server_ms": vote.server_ms,
            "shown_at": trial.shown_at.isoformat() if trial.shown_at else "",
            "voted_at": vote.created_at.isoformat(),
        }
        for position in range(method_count):
            option = options[position] if position < len(options) else None
            row[f"position_{position + 1}"] = (
                ("degraded:" if option.degraded else "") + option.method.label if option else ""
            )
        rows.append(row)
    return rows


def participant_rows(study: Study) -> list[dict]:
    """One row per participant with their recruitment ids (Prolific or MTurk), for approving or rejecting
    submissions: where they got to, how the attention checks went, and the code they were shown."""
    entries = (
        study.participants.select_related("participant")
        .annotate(checks=Count("trials", filter=Q(trials__is_check=True)))
        .order_by("participant__created_at")
    )
    rows = []
    for entry in entries:
        participant, status = entry.participant, entry_status(entry)
        params = participant.recruitment_params
        code = {"completed": study.completion_code, "failed_checks": study.failed_code}.get(status, "")
        rows.append({
            "study": study.slug,
            "participant": participant.pseudonym,
            "source": participant.source,
            "recruitment_id": participant.recruitment_id,
            "recruitment_study": params.get("STUDY_ID") or params.get("hitId") or "",
            "recruitment_session": params.get("SESSION_ID") or params.get("assignmentId") or "",
            "status": status,
            "checks": entry.checks,
            "failed_checks": entry.failed_checks,
            "passed_checks": status == "completed",
            "code_shown": code,
            "started_at": participant.created_at.isoformat(),
            "completed_at": entry.completed_at.isoformat() if entry.completed_at else "",
        })
    return rows


def pick_rows(study: Study) -> list[dict]:
    """One row per image a study participant was shown while picking: picked 1 or 0."""
    items = SetItem.objects.filter(
        pick_set__participant__study_entry__study=study, liked__isnull=False
    ).select_related("candidate__photo", "candidate__model_version", "pick_set__participant").order_by(
        "pick_set__participant__created_at", "pick_set__number", "position"
    )
    return [
        {
            "study": study.slug,
            "participant": item.pick_set.participant.pseudonym,
            "set": item.pick_set.number,
            "position": item.position + 1,
            "photo": item.candidate.photo.content_hash,
            "candidate": item.candidate.label,
            "picked": int(bool(item.liked)),
            "decided_at": item.decided_at.isoformat() if item.decided_at else "",
        }
        for item in items
    ]


def vector_rows(study: Study) -> list[dict]:
    """The preference vectors of the study's participants (every model they were computed for)."""
    vectors = PreferenceVector.objects.filter(participant__study_entry__study=study).select_related(
        "participant", "model_version"
    ).order_by("participant__created_at", "model_version__name")
    return [
        {
            "study": study.slug,
            "participant": vector.participant.pseudonym,
            "model": vector.model_version.name,
            "scheme": vector.scheme,
            "consistency": vector.consistency,
            "positives": vector.positives,
            "negatives": vector.negatives,
            "vector": [float(value) for value in vector.vector_array()],
        }
        for vector in vectors
    ]
