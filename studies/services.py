"""Write surface of studies (HackSoft style): pages, APIs, the admin and commands call these.

Configuration, opening, joining and handing out trials live here; the subjects they draw on have their own
modules: `design` (valid configurations, counterbalanced trial plans), `rendering` (the trial images, the
worker side of `trials_create`) and `voting` (one vote per trial), whose writes are part of this surface.
The picking round a study runs belongs to the participants app and is written through its services.
"""
import logging
import random
import secrets

from django.contrib.auth import get_user_model, password_validation
from django.contrib.auth.models import Group
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from studies import selectors
from studies.design import config_validate, structural_changes, trials_plan
from studies.models import Study, StudyMethod, StudyParticipant, Trial, TrialOption
from studies.permissions import RESEARCHERS
from studies.rendering import option_image  # noqa: F401  (part of the surface: what a participant's image is)
from studies.voting import trial_mark_shown, vote_cast  # noqa: F401  (part of the surface: the writes of voting)
from webapp.core import services as core_services
from webapp.core.errors import Conflict, ServiceError
from webapp.core.models import Job
from webapp.participants import services as participant_services
from webapp.participants.models import Participant

logger = logging.getLogger(__name__)

# What a configuration sets on the study itself (the picking settings go to its round).
STUDY_FIELDS = (
    "title", "consent_text", "instructions", "trials_per_participant", "attention_checks", "max_failed_checks",
    "participant_quota", "completion_code", "completion_url", "failed_code", "failed_url", "pool_styles",
    "model_version",
)


# --- Researchers ------------------------------------------------------------------------------


def researcher_create(*, username: str, password: str, email: str = ""):
    """A researcher's login (or an existing user made a researcher, password then changed only when given):
    staff, so the admin's study pages open too, and in the Researchers group, which holds the rights."""
    username = username.strip()
    if not username:
        raise ServiceError("A researcher needs a user name.")
    user_model = get_user_model()
    with transaction.atomic():
        user = user_model.objects.filter(username=username).first() or user_model(username=username, email=email)
        if password or user.pk is None:
            try:
                password_validation.validate_password(password, user)
            except ValidationError as error:
                raise ServiceError(" ".join(error.messages)) from None
            user.set_password(password)
        user.is_staff = True
        user.save()
        user.groups.add(Group.objects.get(name=RESEARCHERS))
    logger.info("researcher_created", extra={"user_id": user.pk})
    return user


# --- Configuration ----------------------------------------------------------------------------


def _study_new(config: dict, user) -> Study:
    """An unsaved study with its (closed) picking round, which only the study's pages lead to."""
    if Study.objects.filter(slug=config["slug"]).exists():
        raise ServiceError(f"A study {config['slug']!r} exists already.")
    picking_round = participant_services.picking_round_create(
        slug=f"study-{config['slug']}", title=config["title"], consent_text=config["consent_text"], preview_count=0,
        studies_ref=config["slug"], is_open=False, min_picks=config["min_picks"], max_picks=config["max_picks"],
        set_size=config["set_size"], scheme=config["scheme"],
    )
    study = Study(slug=config["slug"], picking_round=picking_round, created_by=user)
    if config.get("seed") is not None:
        study.seed = config["seed"]
    return study


def _study_to_change(study: Study, config: dict) -> Study:
    """The study's row, locked; refused when people have started and `config` changes what trials depend on."""
    study = Study.objects.select_for_update().get(pk=study.pk)
    if study.participants.exists():
        changed = structural_changes(selectors.study_config(study), config)
        if changed:
            raise ServiceError(
                f"People have started this study, so {', '.join(changed)} can no longer change "
                "(results would mix two designs). Export it and import it as a new study instead."
            )
    return study


def _methods_save(study: Study, methods: list[dict]) -> None:
    if study.participants.exists():  # same methods (checked before): only their labels may change
        for method, wanted in zip(study.methods.all(), methods):
            StudyMethod.objects.filter(pk=method.pk).update(label=wanted["label"])
    else:
        study.methods.all().delete()
        StudyMethod.objects.bulk_create(
            StudyMethod(study=study, order=order, **method) for order, method in enumerate(methods)
        )


def study_configure(*, config: dict, study: Study | None = None, user=None) -> Study:
    """Create a study (study=None) or change one from a validated configuration dict (the export format's
    fields, photos and model resolved to objects). Settings the trials depend on are locked once a
    participant has started; texts, quota, codes and URLs can always change."""
    config = config_validate(config)
    with transaction.atomic():
        study = _study_new(config, user) if study is None else _study_to_change(study, config)
        for name in STUDY_FIELDS:
            setattr(study, name, config[name])
        study.save()
        participant_services.picking_round_update(
            picking_round=study.picking_round, title=study.title, consent_text=study.consent_text,
            min_picks=config["min_picks"], max_picks=config["max_picks"], set_size=config["set_size"],
            scheme=config["scheme"], pool_photos=config["pool_photos"],
        )
        study.voting_photos.set(config["voting_photos"])
        _methods_save(study, config["methods"])
    logger.info("study_configured", extra={"study": study.slug, "methods": len(config["methods"])})
    return study


def study_set_open(*, study: Study, is_open: bool) -> Study:
    """Open (after the readiness checks pass) or close a study; its picking round follows."""
    if is_open:
        problems = selectors.study_problems(study)
        if problems:
            raise ServiceError("The study cannot open yet: " + " ".join(problems))
    with transaction.atomic():
        Study.objects.filter(pk=study.pk).update(is_open=is_open, updated_at=timezone.now())
        participant_services.picking_round_set_open(picking_round_id=study.picking_round_id, is_open=is_open)
    study.refresh_from_db()
    study.picking_round.refresh_from_db()
    logger.info("study_opened" if is_open else "study_closed", extra={"study": study.slug})
    return study


def study_prepare_pool(*, study: Study) -> Job:
    """Render (and, with the active model, embed) the picking candidates of the pool: one job with progress.

    Asking again while the pool's job runs returns that job (queued afresh if its worker was lost); after a
    failure it is a retry: a new job renders what is still missing (renderings already stored are kept)."""
    running = selectors.pool_job(study)
    if running is not None and running.status in (Job.Status.QUEUED, Job.Status.RUNNING):
        participant_services.candidates_requeue_if_stuck(job=running)
        return running
    photos = list(study.picking_round.pool_photos.all())
    return participant_services.candidates_request(photos=photos, retouch_styles=study.pool_styles, pienet=True)


# --- Joining ----------------------------------------------------------------------------------


def study_join(*, study: Study, params, consent: bool, current: Participant | None = None) -> StudyParticipant:
    """Consent and join: a participant of the study's picking round plus its study entry (resumable).

    `current` is whom this browser joined as already: joining again without a recruitment id resumes
    them instead of starting a second session (whose images could be compared with the first's).
    """
    source, _, _ = participant_services.recruitment_from_params(params)
    if current is not None and source == Participant.Source.DIRECT:
        return study_entry_for(current, study)
    if not study.is_open:
        raise ServiceError("This study is closed.")
    if selectors.completed_count(study) >= study.participant_quota:
        raise ServiceError("This study has all the participants it needs. Thank you for your interest!")
    participant, _ = participant_services.participant_join(
        picking_round=study.picking_round, params=params, consent=consent, via_study=True
    )
    entry, _ = StudyParticipant.objects.get_or_create(participant=participant, defaults={"study": study})
    return entry


def study_entry_for(participant: Participant, study: Study) -> StudyParticipant:
    """The study entry of a round participant (made here, once, when someone reached the round another way),
    holding the participant and study objects the caller has, so reading them costs no query."""
    entry = selectors.study_entry_get(participant)
    if entry is None:
        entry, _ = StudyParticipant.objects.select_related("render_job").get_or_create(
            participant=participant, defaults={"study": study}
        )
    entry.participant, entry.study = participant, study
    return entry


# --- Trials -----------------------------------------------------------------------------------


def trials_prepare(*, entry: StudyParticipant) -> StudyParticipant:
    """After picking: the preference vector (when a method needs it), then the participant's trials and
    the job that renders them. Idempotent: called by every poll of the trial page."""
    participant, study = entry.participant, entry.study
    if participant.finished_at is None:
        raise Conflict("Finish picking first.")
    methods = list(study.methods.all())
    if any(method.kind == StudyMethod.Kind.PIENET_PERSONAL for method in methods):
        if selectors.participant_vector(entry) is None:
            participant_services.preference_request(participant=participant, model_version=study.model_version)
            return entry
    if entry.render_job_id is None:
        trials_create(entry, methods)
        entry.refresh_from_db()
    return entry


def trials_create(entry: StudyParticipant, methods: list[StudyMethod], rng: random.Random | None = None) -> None:
    """The participant's trials (once), their options in counterbalanced orders, and the job rendering them."""
    rng = rng or random.Random(secrets.randbits(64))
    with transaction.atomic():
        study = Study.objects.select_for_update().get(pk=entry.study_id)  # hands out sequence numbers in order
        entry = StudyParticipant.objects.select_for_update().get(pk=entry.pk)
        if entry.render_job_id is not None:
            return
        photos = list(study.voting_photos.exclude(screen="").order_by("pk"))
        rng.shuffle(photos)
        counted, checks = study.trials_per_participant, study.attention_checks
        if len(photos) < counted + checks:
            raise ServiceError("The study has too few voting photos ready; please come back later.")
        plan = trials_plan(photos=photos, counted=counted, checks=checks, size=len(methods), seed=study.seed,
                           first_sequence=study.trials_assigned, rng=rng)
        _trials_store(study, entry, methods, plan)
        job = core_services.job_create(
            kind=Job.Kind.TRIALS, model_version=study.model_version if any(m.needs_model for m in methods) else None,
            params={"study_participant": entry.pk},
        )
        StudyParticipant.objects.filter(pk=entry.pk).update(render_job=job)
        from studies.tasks import render_trials

        render_trials.delay_on_commit(str(job.pk))
    logger.info("trials_created", extra={"study": study.slug, "pseudonym": entry.participant.pseudonym})


def _trials_store(study: Study, entry: StudyParticipant, methods: list[StudyMethod], plan) -> None:
    options = []
    for planned in plan:
        trial = Trial.objects.create(
            study=study, participant=entry, number=planned.number, photo=planned.photo, is_check=planned.is_check,
            sequence=planned.sequence,
        )
        options += [
            TrialOption(trial=trial, position=position, method=methods[index], degraded=position == planned.degraded)
            for position, index in enumerate(planned.order)
        ]
    TrialOption.objects.bulk_create(options)
    counted = [planned.sequence for planned in plan if planned.sequence is not None]
    Study.objects.filter(pk=study.pk).update(trials_assigned=counted[-1] + 1 if counted else study.trials_assigned)
