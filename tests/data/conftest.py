"""Generated photos for the dataset tests (the real photo collection is never used in tests)."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pytest

from tests.data.synthetic import exposure, synthetic_photo, write_jpeg


@pytest.fixture(scope="session")
def photo_root(tmp_path_factory) -> Path:
    """5 ordinary photos + a SICE-like sequence (3 exposures of one view and 1 shifted shot)."""
    root = tmp_path_factory.mktemp("photos")
    rows = []
    for index, (height, width) in enumerate([(120, 160), (150, 100), (128, 128), (90, 140), (100, 100)]):
        file = f"misc/img_{index}.jpg"
        write_jpeg(synthetic_photo(height, width, seed=index), root / file)
        rows.append((file, "misc", f"misc-{index}"))
    scene = synthetic_photo(128, 128, seed=99)
    for index, stops in enumerate([-2.0, 0.0, 1.5]):
        file = f"sice/seq_{index}.jpg"
        write_jpeg(exposure(scene, stops), root / file)
        rows.append((file, "sice", "sice-1"))
    write_jpeg(np.roll(scene, (20, 28), axis=(0, 1)), root / "sice/seq_3.jpg")
    rows.append(("sice/seq_3.jpg", "sice", "sice-1"))
    with (root / "manifest.csv").open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["file", "collection", "scene", "width", "height"])
        writer.writerows((file, collection, scene, 0, 0) for file, collection, scene in rows)
    return root
