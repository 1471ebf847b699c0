"""Write-side logic of studies (HackSoft style): configuration, joining, trials, rendering, votes.

Exactly one vote per trial: a vote locks the participant row (two tabs of one person are serialized)
and the trial row, and `Vote.trial` is one-to-one in the database, so a double submit, a resent
request after the back button or a second tab either returns the vote already cast (same choice) or
is refused (another choice) — it never adds a second.
"""
import logging
import random
import secrets

import numpy as np
import torch
from django.core.files.storage import default_storage
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone
from PIL import Image, ImageFilter

from ml.personalize import mean_vector
from ml.styles.registry import STYLES
from studies import selectors
from studies.models import Study, StudyMethod, StudyParticipant, Trial, TrialOption, Vote
from webapp.core import selectors as core_selectors
from webapp.core import services as core_services
from webapp.core.model_runtime import enhancer_for
from webapp.core.models import Job
from webapp.core.errors import Conflict, ServiceError
from webapp.core.imaging import encode_jpeg, fit_within, photo_pixels, store_once, stored_variant
from webapp.core.signing import keyed_digest, keyed_seed
from webapp.participants import services as participant_services
from webapp.participants.models import Participant, PickingRound

logger = logging.getLogger(__name__)

MAX_METHODS = 8
TRIAL_IMAGE_SIZE = 1024  # long side of every option image: one size for all methods, so sizes tell nothing
TRIAL_IMAGE_QUALITY = 90  # and one JPEG quality, for the stored renderings and the variants served
MAX_RESPONSE_MS = 6 * 60 * 60 * 1000
RESERVED_SLUGS = {"new", "import", "login", "logout"}  # /studies/<these>/ are dashboard pages
# Settings the trials depend on: once someone has started they stay as they are (results would mix).
STRUCTURAL = (
    "pool_photos", "voting_photos", "methods", "model_version", "trials_per_participant", "attention_checks",
    "min_picks", "max_picks", "set_size", "scheme", "pool_styles",
)
DEFAULT_LABELS = {
    StudyMethod.Kind.PIENET_PERSONAL: "PieNet (personal)",
    StudyMethod.Kind.PIENET_MEAN: "PieNet (mean vector)",
}


# --- Configuration ----------------------------------------------------------------------------


def _clean_methods(methods: list[dict], model_version) -> list[dict]:
    if not 2 <= len(methods) <= MAX_METHODS:
        raise ServiceError(f"A study compares 2 to {MAX_METHODS} methods, got {len(methods)}.")
    cleaned, seen_keys, seen_labels = [], set(), set()
    for method in methods:
        kind, style = method.get("kind", ""), (method.get("style") or "").strip()
        if kind not in StudyMethod.Kind.values:
            raise ServiceError(f"Unknown method kind {kind!r}; use one of {', '.join(StudyMethod.Kind.values)}.")
        if kind in (StudyMethod.Kind.PIENET_PERSONAL, StudyMethod.Kind.PIENET_MEAN):
            style = ""
        elif not style:
            raise ServiceError(f"A {kind} method needs a style name.")
        if kind == StudyMethod.Kind.RETOUCH and style not in STYLES:
            raise ServiceError(f"Unknown retouching style {style!r}; known: {', '.join(sorted(STYLES))}.")
        if kind != StudyMethod.Kind.RETOUCH:
            if model_version is None:
                raise ServiceError("PieNet methods need a model version; register and activate a model first.")
            if kind == StudyMethod.Kind.PIENET_STYLE and style not in model_version.styles:
                raise ServiceError(
                    f"Model {model_version.name} has no style {style!r}; it has: {', '.join(model_version.styles)}."
                )
        label = (method.get("label") or "").strip() or DEFAULT_LABELS.get(kind) or (
            f"PieNet ({style})" if kind == StudyMethod.Kind.PIENET_STYLE else style
        )
        key = (kind, style)
        if key in seen_keys:
            raise ServiceError(f"The method {label!r} is listed twice.")
        if label in seen_labels:
            raise ServiceError(f"Two methods are labelled {label!r}; labels must differ.")
        seen_keys.add(key)
        seen_labels.add(label)
        cleaned.append({"kind": kind, "style": style, "label": label[:100]})
    return cleaned


def _validate(config: dict) -> dict:
    """Domain checks of a whole configuration (the serializer checked types and ranges)."""
    config = dict(config)
    if config["slug"] in RESERVED_SLUGS:
        raise ServiceError(f"{config['slug']!r} names a page of the dashboard; choose another slug.")
    if not 1 <= config["min_picks"] <= config["max_picks"]:
        raise ServiceError(
            f"The pick range must satisfy 1 ≤ min ≤ max, got {config['min_picks']}–{config['max_picks']}."
        )
    if config["set_size"] < 2:
        raise ServiceError("A picking set shows at least 2 images.")
    if config["scheme"] not in PickingRound.Scheme.values:
        raise ServiceError(f"Unknown scheme {config['scheme']!r}.")
    unknown = [name for name in config["pool_styles"] if name not in STYLES]
    if unknown:
        raise ServiceError(f"Unknown retouching styles for the picking pool: {', '.join(unknown)}.")
    pool, voting = set(config["pool_photos"]), set(config["voting_photos"])
    if len(pool) < 2:
        raise ServiceError("The picking pool needs at least 2 photos.")
    overlap = pool & voting
    if overlap:
        names = ", ".join(sorted(str(photo) for photo in overlap)[:5])
        raise ServiceError(f"Voting photos must not be in the picking pool ({len(overlap)} are: {names}).")
    needed = config["trials_per_participant"] + config["attention_checks"]
    if len(voting) < needed:
        raise ServiceError(
            f"Each participant sees each voting photo once: {config['trials_per_participant']} trials and "
            f"{config['attention_checks']} attention checks need {needed} voting photos, got {len(voting)}."
        )
    if config["max_failed_checks"] > config["attention_checks"]:
        raise ServiceError("The allowed failed checks cannot exceed the number of attention checks.")
    config["methods"] = _clean_methods(config["methods"], config.get("model_version"))
    return config


def study_configure(*, config: dict, study: Study | None = None, user=None) -> Study:
    """Create a study (study=None) or change one from a validated configuration dict (the export format's
    fields, photos and model resolved to objects). Settings the trials depend on are locked once a
    participant has started; texts, quota, codes and URLs can always change."""
    config = _validate(config)
    with transaction.atomic():
        if study is None:
            if Study.objects.filter(slug=config["slug"]).exists():
                raise ServiceError(f"A study {config['slug']!r} exists already.")
            round_slug = f"study-{config['slug']}"
            if PickingRound.objects.filter(slug=round_slug).exists():
                raise ServiceError(f"A picking round {round_slug!r} exists already.")
            picking_round = PickingRound.objects.create(
                slug=round_slug, title=config["title"], consent_text=config["consent_text"], preview_count=0,
                studies_ref=config["slug"], is_open=False, min_picks=config["min_picks"],
                max_picks=config["max_picks"], set_size=config["set_size"], scheme=config["scheme"],
            )
            study = Study(slug=config["slug"], picking_round=picking_round, created_by=user)
            if config.get("seed") is not None:
                study.seed = config["seed"]
        else:
            study = Study.objects.select_for_update().get(pk=study.pk)
            if study.participants.exists():
                current = selectors.study_config(study)
                changed = [name for name in STRUCTURAL if _differs(current, name, config)]
                if changed:
                    raise ServiceError(
                        f"People have started this study, so {', '.join(changed)} can no longer change "
                        "(results would mix two designs). Export it and import it as a new study instead."
                    )
        for name in ("title", "consent_text", "instructions", "trials_per_participant", "attention_checks",
                     "max_failed_checks", "participant_quota", "completion_code", "completion_url", "failed_code",
                     "failed_url", "pool_styles", "model_version"):
            setattr(study, name, config[name])
        study.save()
        picking_round = study.picking_round
        for name in ("min_picks", "max_picks", "set_size", "scheme"):
            setattr(picking_round, name, config[name])
        picking_round.title, picking_round.consent_text = study.title, study.consent_text
        picking_round.save()
        picking_round.pool_photos.set(config["pool_photos"])
        study.voting_photos.set(config["voting_photos"])
        if study.participants.exists():  # same methods (checked above): only their labels may change
            for method, wanted in zip(study.methods.all(), config["methods"]):
                StudyMethod.objects.filter(pk=method.pk).update(label=wanted["label"])
        else:
            study.methods.all().delete()
            StudyMethod.objects.bulk_create(
                StudyMethod(study=study, order=order, **method) for order, method in enumerate(config["methods"])
            )
    logger.info("study_configured", extra={"study": study.slug, "methods": len(config["methods"])})
    return study


def _differs(current: dict, name: str, config: dict) -> bool:
    """Whether `config` changes setting `name` of the current configuration (export format)."""
    if name in ("pool_photos", "voting_photos"):
        return set(current[name]) != {photo.content_hash for photo in config[name]}
    if name == "model_version":
        version = config[name]
        return (current["model"] or {}).get("sha256") != (version.sha256 if version else None)
    if name == "methods":
        return [(m["kind"], m["style"]) for m in current["methods"]] != [(m["kind"], m["style"]) for m in config[name]]
    return current[name] != config[name]


def study_set_open(*, study: Study, is_open: bool) -> Study:
    """Open (after the readiness checks pass) or close a study; its picking round follows."""
    if is_open:
        problems = selectors.study_problems(study)
        if problems:
            raise ServiceError("The study cannot open yet: " + " ".join(problems))
    with transaction.atomic():
        Study.objects.filter(pk=study.pk).update(is_open=is_open, updated_at=timezone.now())
        PickingRound.objects.filter(pk=study.picking_round_id).update(is_open=is_open)
    study.refresh_from_db()
    study.picking_round.refresh_from_db()
    logger.info("study_opened" if is_open else "study_closed", extra={"study": study.slug})
    return study


def study_prepare_pool(*, study: Study) -> Job:
    """Render (and, with the active model, embed) the picking candidates of the pool: one job with progress."""
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
    """The study entry of a round participant (made here when someone reached the round another way),
    holding the participant and study objects the caller has, so reading them costs no query."""
    entry, _ = StudyParticipant.objects.select_related("render_job").get_or_create(
        participant=participant, defaults={"study": study}
    )
    entry.participant, entry.study = participant, study
    return entry


# --- Trials -----------------------------------------------------------------------------------


def latin_row(seed: int, sequence: int, size: int) -> list[int]:
    """Method indices by position for counted trial `sequence`.

    Trials come in blocks of `size`; each block has its own random Latin square (rows, columns and
    symbols of a cyclic square shuffled with a generator seeded by the study and the block), and the
    block's trials take its rows. So over any whole block every method sits in every position exactly
    once, while the order of each trial is random.
    """
    block, row = divmod(sequence, size)
    rng = random.Random(f"{seed}:{block}")
    symbols, rows, columns = list(range(size)), list(range(size)), list(range(size))
    rng.shuffle(symbols)
    rng.shuffle(rows)
    rng.shuffle(columns)
    return [symbols[(rows[row] + columns[position]) % size] for position in range(size)]


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
        _trials_create(entry, methods)
        entry.refresh_from_db()
    return entry


def _trials_create(entry: StudyParticipant, methods: list[StudyMethod], rng: random.Random | None = None) -> None:
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
        kinds = [False] * counted
        for _ in range(checks):  # attention checks anywhere but first
            kinds.insert(rng.randint(1, len(kinds)), True)
        size, sequence = len(methods), study.trials_assigned
        options = []
        for number, (is_check, photo) in enumerate(zip(kinds, photos), start=1):
            trial = Trial.objects.create(
                study=study, participant=entry, number=number, photo=photo, is_check=is_check,
                sequence=None if is_check else sequence,
            )
            if is_check:
                order, degraded = rng.sample(range(size), size), rng.randrange(size)
            else:
                order, degraded = latin_row(study.seed, sequence, size), None
                sequence += 1
            options += [
                TrialOption(trial=trial, position=position, method=methods[index], degraded=position == degraded)
                for position, index in enumerate(order)
            ]
        TrialOption.objects.bulk_create(options)
        Study.objects.filter(pk=study.pk).update(trials_assigned=sequence)
        needs_model = any(method.needs_model for method in methods)
        job = Job.objects.create(
            kind=Job.Kind.ENHANCE, model_version=study.model_version if needs_model else None,
            params={"study_participant": entry.pk},
        )
        StudyParticipant.objects.filter(pk=entry.pk).update(render_job=job)
        from studies.tasks import render_trials

        render_trials.delay_on_commit(str(job.pk))
    logger.info("trials_created", extra={"study": study.slug, "pseudonym": entry.participant.pseudonym})


def trial_source(photo) -> np.ndarray:
    """The photo every method of a trial starts from: its screen rendition at the trial size (uint8)."""
    return fit_within(photo_pixels(photo, "screen"), TRIAL_IMAGE_SIZE)


def degrade_for_check(pixels: np.ndarray, seed: int) -> np.ndarray:
    """An attention check's option: broken whatever one's taste (blocky, blurred, grainy, false colours)."""
    height, width = pixels.shape[:2]
    block = max(2, max(height, width) // 48)
    small = Image.fromarray(pixels).resize((max(1, width // block), max(1, height // block)), Image.Resampling.BILINEAR)
    blocky = small.resize((width, height), Image.Resampling.NEAREST).filter(ImageFilter.GaussianBlur(block / 4))
    channels = np.asarray(blocky, dtype=np.float32)[..., [2, 0, 1]] / 255
    noise = np.random.default_rng(seed).normal(0, 0.08, channels.shape).astype(np.float32)
    return np.clip(channels + noise, 0, 1)


def _output_name(*parts: str) -> str:
    """Storage name of a rendering: stable for its inputs (renderings are shared by trials and
    participants), and keyed with the secret so that nobody can derive it from a method's name."""
    return f"studies/{keyed_digest(*parts)[:40]}.jpg"


def trials_render(*, job_id: str, stage: str) -> bool:
    """Worker side: render the options of a participant's trials that are not rendered yet.

    Stage "cpu" renders what needs no model (retouching users, degraded check options); stage "gpu"
    renders the PieNet methods in one batch per trial. Returns True when the gpu stage follows.
    Every image has the same size, encoder and quality, and no metadata (a fresh JPEG from pixels).
    """
    job = core_selectors.job_get(job_id)
    if job is None or job.status in (Job.Status.SUCCEEDED, Job.Status.FAILED):
        return False
    if stage == "cpu":
        core_services.job_start(job=job)
    entry = StudyParticipant.objects.select_related("study__model_version", "participant").get(
        pk=job.params["study_participant"]
    )
    pending = list(
        TrialOption.objects.filter(trial__participant=entry, image="")
        .select_related("trial__photo", "method").order_by("trial__number", "position")
    )
    on_gpu = [option for option in pending if option.method.needs_model and not option.degraded]
    todo = on_gpu if stage == "gpu" else [option for option in pending if option not in on_gpu]
    start, end = (5, 50) if stage == "cpu" and on_gpu else (50, 100) if stage == "gpu" else (5, 100)
    render = _gpu_renderer(entry) if stage == "gpu" else None
    by_trial: dict[int, list[TrialOption]] = {}
    for option in todo:
        by_trial.setdefault(option.trial_id, []).append(option)
    for done, options in enumerate(by_trial.values(), start=1):
        photo = options[0].trial.photo
        source = trial_source(photo)
        if render is not None:
            render(photo, source, options)
        else:
            for option in options:
                _store_option(option, source, photo)
        core_services.job_progress(job_id=job.pk, percent=start + (end - start) * done // len(by_trial))
    if stage == "cpu" and on_gpu:
        from studies.tasks import render_trials_pienet

        render_trials_pienet.delay_on_commit(str(job.pk))
        return True
    core_services.job_succeed(job=job, result={"options": len(pending), "trials": entry.trials.count()})
    return False


def _store_option(option: TrialOption, source: np.ndarray, photo) -> None:
    size = str(TRIAL_IMAGE_SIZE)
    if option.degraded:
        name = _output_name(photo.content_hash, "degraded", size)
        if not default_storage.exists(name):
            seed = int(photo.content_hash[:8], 16)
            degraded = degrade_for_check(source, seed)
            store_once(name, encode_jpeg(degraded, TRIAL_IMAGE_QUALITY))
    else:
        name = _output_name(photo.content_hash, option.method.key, size)
        if not default_storage.exists(name):
            output = STYLES[option.method.style](source.astype(np.float32) / 255)
            store_once(name, encode_jpeg(output, TRIAL_IMAGE_QUALITY))
    TrialOption.objects.filter(pk=option.pk).update(image=name)


def _gpu_renderer(entry: StudyParticipant):
    """A function rendering one trial's PieNet options with the study's model (loaded once per process)."""
    study = entry.study
    version = study.model_version
    enhancer = enhancer_for(version)
    vectors = {
        StudyMethod.Kind.PIENET_MEAN: mean_vector(torch.stack(list(enhancer.styles.values())).cpu()),
    }
    personal = selectors.participant_vector(entry)
    if personal is not None:
        vectors[StudyMethod.Kind.PIENET_PERSONAL] = torch.from_numpy(personal.vector_array().copy())

    def key_and_vector(method: StudyMethod):
        if method.kind == StudyMethod.Kind.PIENET_STYLE:
            return method.key, method.style
        if method.kind == StudyMethod.Kind.PIENET_PERSONAL:
            if personal is None:
                raise ServiceError("The participant has no preference vector for this study's model.")
            return f"{method.key}:{core_services.vector_sha256(personal.vector_array())}", vectors[method.kind]
        return method.key, vectors[method.kind]

    def render(photo, source, options):
        size = str(TRIAL_IMAGE_SIZE)
        names, missing = {}, []
        for option in options:
            key, vector = key_and_vector(option.method)
            names[option.pk] = _output_name(photo.content_hash, key, version.sha256, size)
            if not default_storage.exists(names[option.pk]):
                missing.append((option, vector))
        if missing:
            outputs = enhancer.enhance_batch([source] * len(missing), [vector for _, vector in missing])
            for (option, _), output in zip(missing, outputs):
                store_once(names[option.pk], encode_jpeg(output, TRIAL_IMAGE_QUALITY))
        for option in options:
            TrialOption.objects.filter(pk=option.pk).update(image=names[option.pk])

    return render


def option_image(*, option: TrialOption) -> bytes:
    """An option's image as its participant gets it: the rendering (shared by everyone shown that method
    on that photo) with a variation keyed by the option, so that participants comparing their copies of
    a method's image cannot match them byte for byte and tell which option is which method."""
    return stored_variant(option.image.name, keyed_seed("trial", option.token), TRIAL_IMAGE_QUALITY)


def trial_mark_shown(*, trial: Trial) -> None:
    """The first time a ready trial is sent: the server's start of the response time."""
    Trial.objects.filter(pk=trial.pk, shown_at__isnull=True).update(shown_at=timezone.now())


# --- Votes ------------------------------------------------------------------------------------


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
        raise Conflict("This photo already has your vote; it cannot be changed.") from None


def _vote_cast(entry: StudyParticipant, trial_token: str, option_token: str, response_ms: int) -> Vote:
    """Only the trial row is locked: a participant's votes are serialised by the one-current-trial rule and
    the vote's unique trial, so votes of different participants never wait for each other."""
    trial = (
        Trial.objects.select_for_update(of=("self",)).select_related("vote__option")
        .filter(participant=entry, token=trial_token).first()
    )
    if trial is None:
        raise ServiceError("No such trial in this session.")
    if hasattr(trial, "vote"):
        if trial.vote.option.token == option_token:
            return trial.vote
        raise Conflict("This photo already has your vote; it cannot be changed.")
    if entry.trials.filter(vote__isnull=True, number__lt=trial.number).exists():
        raise Conflict("This is not the photo to vote on now; the page shows the current one.")
    option = trial.options.filter(token=option_token).first()
    if option is None:
        raise ServiceError("No such option in this trial.")
    if trial.shown_at is None:
        raise Conflict("This trial has not been shown yet.")
    now = timezone.now()
    vote = Vote.objects.create(
        trial=trial, option=option, response_ms=response_ms,
        server_ms=int((now - trial.shown_at).total_seconds() * 1000),
    )
    updates = {}
    if option.degraded:
        updates["failed_checks"] = F("failed_checks") + 1
    if not entry.trials.filter(vote__isnull=True).exists():
        updates["completed_at"] = now
    if updates:
        StudyParticipant.objects.filter(pk=entry.pk).update(**updates)
        entry.refresh_from_db(fields=["failed_checks", "completed_at"])
    if "completed_at" in updates:
        _close_when_full(entry.study)
        logger.info("study_participant_completed", extra={
            "study": entry.study.slug, "pseudonym": entry.participant.pseudonym, "passed": entry.passed_checks,
        })
    return vote


def _close_when_full(study: Study) -> None:
    """Completions of one study are counted one at a time (the study row's lock), so the quota is exact."""
    study = Study.objects.select_for_update().get(pk=study.pk)
    if study.is_open and selectors.completed_count(study) >= study.participant_quota:
        Study.objects.filter(pk=study.pk).update(is_open=False)
        PickingRound.objects.filter(pk=study.picking_round_id).update(is_open=False)
        logger.info("study_quota_reached", extra={"study": study.slug})
