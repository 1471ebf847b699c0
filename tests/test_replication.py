"""The shipped checkpoint reproduces the numbers on its card.

The card (``checkpoints/pienet.card.json``) is written by ``python -m ml card --checkpoint checkpoints/pienet.pt
--photos ../shared/data/photos --out checkpoints/pienet.card.json``; this test rebuilds the same small photo
subset with the project's builder into a temporary folder, evaluates again and compares within the card's
tolerances. The photos are not part of the repository: set PIENET_PHOTOS when they live elsewhere.
"""

import os
from pathlib import Path

import pytest

from ml.checkpoint import file_sha256
from ml.experiments.replication import build_subset, differences, measure, read_card, subset_fingerprint

REPOSITORY = Path(__file__).resolve().parents[1]
CHECKPOINT = REPOSITORY / "checkpoints" / "pienet.pt"
CARD = REPOSITORY / "checkpoints" / "pienet.card.json"
PHOTOS = Path(os.environ.get("PIENET_PHOTOS", REPOSITORY.parent / "shared" / "data" / "photos"))


def test_shipped_checkpoint_reproduces_its_card(tmp_path):
    if not (PHOTOS / "manifest.csv").is_file():
        pytest.skip(f"the shared photos are absent ({PHOTOS}/manifest.csv not found; set PIENET_PHOTOS)")
    if not CHECKPOINT.is_file():
        pytest.skip(f"{CHECKPOINT.relative_to(REPOSITORY)} does not exist yet: the reference model is not shipped")
    assert CARD.is_file(), f"{CHECKPOINT.name} is shipped without its card; write it with `python -m ml card`"
    card, spec = read_card(CARD)
    assert card["checkpoint"]["sha256"] == file_sha256(CHECKPOINT), \
        "the card belongs to another checkpoint; regenerate it with `python -m ml card`"
    assert subset_fingerprint(PHOTOS, spec.photo_limit) == card["replication"]["photos_sha256"], \
        f"the first {spec.photo_limit} photos in {PHOTOS} are not the ones the card was made from"
    measured = measure(CHECKPOINT, build_subset(PHOTOS, tmp_path / "subset", spec), spec)
    assert differences(card, measured) == []
