"""The shipped checkpoint's card data and its replication check.

``python -m ml card`` rebuilds a small fixed subset of the photo collection with the project's own builder
(the first ``photo_limit`` photos of the index, at ``size`` px, into a temporary folder), evaluates the
checkpoint on its test split with :func:`ml.evaluation.evaluate` in fp32 on the CPU (so every machine computes
the same numbers up to rounding), and writes the numbers with everything needed to redo them into a JSON card.
``tests/test_replication.py`` redoes them and compares within the card's tolerances, so no number on the card
is ever typed by hand.
"""

from __future__ import annotations

import hashlib
import json
import tempfile
from dataclasses import asdict, dataclass, field
from pathlib import Path

from ml.checkpoint import file_sha256, load_checkpoint
from ml.data.build import build_dataset
from ml.data.datasets import FiveKLayout
from ml.data.photos import read_photo_index
from ml.evaluation import evaluate
from ml.inference import Enhancer

CARD_FORMAT = "pienet-studio-card"
CARD_VERSION = 1
METRIC_TOLERANCES = {"mpsnr": "tolerance_db", "mssim": "tolerance_ssim", "mdelta_e": "tolerance_delta_e"}


class CardError(ValueError):
    """A card file that is missing, unreadable or not for this checkpoint."""


@dataclass
class ReplicationSpec:
    """How the card's numbers are made. ``users``: empty means the first ``users_per_group`` training users of the
    checkpoint and unseen users of the dataset (kept small so the check runs in well under a minute)."""

    photo_limit: int = 40
    size: int = 256
    build_seed: int = 0
    split: str = "test"
    limit: int | None = 4
    users: list[str] = field(default_factory=list)
    users_per_group: int = 2
    scheme: str = "mean"
    preferred_count: int = 10
    precision: str = "fp32"
    tolerance_db: float = 0.05
    tolerance_ssim: float = 0.002
    tolerance_delta_e: float = 0.05


def subset_fingerprint(photos, photo_limit: int) -> str:
    """sha256 over the names and bytes of the subset's photos: a different collection gives a different value."""
    digest = hashlib.sha256()
    for photo in read_photo_index(Path(photos))[:photo_limit]:
        digest.update(photo.file.encode("utf-8") + b"\0")
        digest.update(hashlib.sha256((Path(photos) / photo.file).read_bytes()).digest())
    return digest.hexdigest()


def build_subset(photos, out_dir, spec: ReplicationSpec) -> Path:
    build_dataset(Path(photos), Path(out_dir), size=spec.size, workers=1, limit=spec.photo_limit,
                  seed=spec.build_seed, progress=False)
    return Path(out_dir)


def measure(checkpoint, data_dir, spec: ReplicationSpec) -> dict:
    """Evaluate ``checkpoint`` on the built subset as the spec says; returns :func:`ml.evaluation.evaluate`'s
    summary (with ``users`` filled in on the spec when it was empty)."""
    enhancer = Enhancer.from_checkpoint(checkpoint, device="cpu", precision=spec.precision)
    if not spec.users:
        layout = FiveKLayout.open(data_dir)
        trained = [user for user in layout.train_users if user in enhancer.styles]
        spec.users = trained[:spec.users_per_group] + layout.test_users[:spec.users_per_group]
    return evaluate(enhancer, data_dir, split=spec.split, users=spec.users, scheme=spec.scheme,
                    preferred_count=spec.preferred_count, limit=spec.limit)


def write_card(checkpoint, photos, out, spec: ReplicationSpec, experiments=None) -> dict:
    """Build the subset in a temporary folder, measure, and write the card JSON to ``out``; returns the card."""
    checkpoint = Path(checkpoint)
    with tempfile.TemporaryDirectory(prefix="pienet-card-") as work:
        summary = measure(checkpoint, build_subset(photos, Path(work) / "subset", spec), spec)
    loaded = load_checkpoint(checkpoint)
    metadata = {key: loaded.metadata[key] for key in ("stage", "step", "recipe_name", "recipe_sha256", "recipe")
                if key in loaded.metadata}
    card = {
        "format": CARD_FORMAT,
        "version": CARD_VERSION,
        "checkpoint": {"file": checkpoint.name, "sha256": file_sha256(checkpoint),
                       "size_bytes": checkpoint.stat().st_size, "config": loaded.config.to_dict(),
                       "training_users": list(loaded.styles), "metadata": metadata},
        "replication": {
            **asdict(spec),
            "photos_sha256": subset_fingerprint(photos, spec.photo_limit),
            "metrics": {key: summary[key] for key in ("mpsnr", "mssim", "mdelta_e", "users")},
            "command": f"python -m ml card --checkpoint {checkpoint} --photos PHOTOS --out {out} "
                       f"--photo-limit {spec.photo_limit} --size {spec.size}",
        },
    }
    if experiments is not None:
        results = json.loads(Path(experiments).read_text(encoding="utf-8"))
        card["experiments"] = {key: results[key] for key in ("settings", "photos", "table1", "targets")}
    Path(out).parent.mkdir(parents=True, exist_ok=True)
    Path(out).write_text(json.dumps(card, indent=2), encoding="utf-8")
    return card


def read_card(path) -> tuple[dict, ReplicationSpec]:
    try:
        card = json.loads(Path(path).read_text(encoding="utf-8"))
        if card.get("format") != CARD_FORMAT or card.get("version") != CARD_VERSION:
            raise ValueError(f"not a {CARD_FORMAT} version {CARD_VERSION} file")
        replication = card["replication"]
        names = ReplicationSpec.__dataclass_fields__
        spec = ReplicationSpec(**{key: value for key, value in replication.items() if key in names})
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as error:
        raise CardError(f"{path} is not a readable model card ({error}).") from error
    return card, spec


def differences(card: dict, measured: dict) -> list[str]:
    """Every card number that the measurement does not reproduce within the card's tolerances."""
    replication, problems = card["replication"], []
    expected = replication["metrics"]
    for metric, tolerance_key in METRIC_TOLERANCES.items():
        tolerance = replication[tolerance_key]
        if abs(measured[metric] - expected[metric]) > tolerance:
            problems.append(f"{metric}: card {expected[metric]:.4f}, measured {measured[metric]:.4f} "
                            f"(tolerance {tolerance})")
        for user, values in expected["users"].items():
            got = measured["users"].get(user, {}).get(metric[1:])
            if got is None or abs(got - values[metric[1:]]) > tolerance:
                problems.append(f"{user} {metric[1:]}: card {values[metric[1:]]:.4f}, measured {got}")
    return problems
