"""The design of a study, without the database: what a valid configuration is, which settings the trials
depend on, and the counterbalanced plan of a participant's trials (random Latin squares, attention checks).
"""

import random
from dataclasses import dataclass

from ml.styles.registry import STYLES
from studies.models import StudyMethod
from webapp.core.errors import ServiceError
from webapp.participants.services import picking_round_check

MAX_METHODS = 8
RESERVED_SLUGS = {"new", "import", "login", "logout"}  # /studies/<these>/ are dashboard pages
# Settings the trials depend on: once someone has started they stay as they are (results would mix).
STRUCTURAL = (
    "pool_photos",
    "voting_photos",
    "methods",
    "model_version",
    "trials_per_participant",
    "attention_checks",
    "min_picks",
    "max_picks",
    "set_size",
    "scheme",
    "pool_styles",
)
DEFAULT_LABELS = {
    StudyMethod.Kind.PIENET_PERSONAL: "PieNet (personal)",
    StudyMethod.Kind.PIENET_MEAN: "PieNet (mean vector)",
}


# --- Configuration ----------------------------------------------------------------------------


def _clean_method(method: dict, model_version) -> dict:
    """One method's kind, style and label, checked against the styles there are."""
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
    label = (
        (method.get("label") or "").strip()
        or DEFAULT_LABELS.get(kind)
        or (f"PieNet ({style})" if kind == StudyMethod.Kind.PIENET_STYLE else style)
    )
    return {"kind": kind, "style": style, "label": label[:100]}


def clean_methods(methods: list[dict], model_version) -> list[dict]:
    """The compared methods, each checked, none listed twice, no two with one label."""
    if not 2 <= len(methods) <= MAX_METHODS:
        raise ServiceError(f"A study compares 2 to {MAX_METHODS} methods, got {len(methods)}.")
    cleaned, seen_keys, seen_labels = [], set(), set()
    for method in methods:
        method = _clean_method(method, model_version)
        label = method["label"]
        if (method["kind"], method["style"]) in seen_keys:
            raise ServiceError(f"The method {label!r} is listed twice.")
        if label in seen_labels:
            raise ServiceError(f"Two methods are labelled {label!r}; labels must differ.")
        seen_keys.add((method["kind"], method["style"]))
        seen_labels.add(label)
        cleaned.append(method)
    return cleaned


def _check_photos(config: dict) -> None:
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


def config_validate(config: dict) -> dict:
    """Domain checks of a whole configuration (the serializer checked types and ranges); returns it with
    its methods cleaned."""
    config = dict(config)
    if config["slug"] in RESERVED_SLUGS:
        raise ServiceError(f"{config['slug']!r} names a page of the dashboard; choose another slug.")
    picking_round_check(
        min_picks=config["min_picks"],
        max_picks=config["max_picks"],
        set_size=config["set_size"],
        scheme=config["scheme"],
    )
    unknown = [name for name in config["pool_styles"] if name not in STYLES]
    if unknown:
        raise ServiceError(f"Unknown retouching styles for the picking pool: {', '.join(unknown)}.")
    _check_photos(config)
    if config["max_failed_checks"] > config["attention_checks"]:
        raise ServiceError("The allowed failed checks cannot exceed the number of attention checks.")
    config["methods"] = clean_methods(config["methods"], config.get("model_version"))
    return config


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


def structural_changes(current: dict, config: dict) -> list[str]:
    """The settings the trials depend on that `config` changes in the `current` configuration."""
    return [name for name in STRUCTURAL if _differs(current, name, config)]


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


@dataclass
class PlannedTrial:
    number: int  # 1, 2, … in the order the participant sees them
    photo: object
    is_check: bool
    sequence: int | None  # the study-wide number of a counted trial (its Latin row); None for checks
    order: list[int]  # method index at each position
    degraded: int | None  # the position of a check's degraded option


def trials_plan(
    *, photos: list, counted: int, checks: int, size: int, seed: int, first_sequence: int, rng: random.Random
) -> list[PlannedTrial]:
    """A participant's trials on `photos` (already shuffled, one each): `counted` trials taking the next Latin
    rows from `first_sequence`, and `checks` attention checks anywhere but first, in a random order with one
    random option degraded."""
    kinds = [False] * counted
    for _ in range(checks):
        kinds.insert(rng.randint(1, len(kinds)), True)
    plan, sequence = [], first_sequence
    for number, (is_check, photo) in enumerate(zip(kinds, photos), start=1):
        if is_check:
            order, degraded = rng.sample(range(size), size), rng.randrange(size)
            plan.append(PlannedTrial(number, photo, True, None, order, degraded))
        else:
            plan.append(PlannedTrial(number, photo, False, sequence, latin_row(seed, sequence, size), None))
            sequence += 1
    return plan
