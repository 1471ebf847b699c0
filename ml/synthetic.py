"""A tiny synthetic dataset in the FiveK layout, for tests, benchmarks and smoke runs without real photos.

Inputs are smooth random colour fields with a few soft blobs (so crops, rotations and SSIM have structure);
each "user" is a simple global edit with a distinct style, so both stages have something learnable. The
undegraded photos are kept in ``photos/`` (named by ``build.json``, as a real build does) so that random users
(ml.styles.parametric) can be rendered from them.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np

from ml.images import save_image

USER_EDITS = {
    "bright": lambda image: image ** 0.6,
    "warm": lambda image: image * np.array([1.15, 1.0, 0.8], dtype=np.float32) + np.float32(0.03),
    "cool": lambda image: image * np.array([0.8, 0.95, 1.15], dtype=np.float32),
    "contrast": lambda image: 0.5 + 1.6 * (image - 0.5),
}
TRAIN_USERS = ("bright", "warm", "cool")
PHOTOS_DIR = "photos"
TEST_USERS = ("contrast",)


def synthetic_photo(height: int, width: int, rng: np.random.Generator) -> np.ndarray:
    rows, cols = np.mgrid[0:height, 0:width].astype(np.float32)
    rows, cols = rows / height, cols / width
    image = np.empty((height, width, 3), np.float32)
    for channel in range(3):
        a, b, c = rng.uniform(-0.4, 0.4, size=3)
        image[..., channel] = 0.45 + a * rows + b * cols + c * rows * cols
    for _ in range(3):
        centre_r, centre_c, radius = rng.uniform(0, 1), rng.uniform(0, 1), rng.uniform(0.1, 0.3)
        blob = np.exp(-((rows - centre_r) ** 2 + (cols - centre_c) ** 2) / (2 * radius ** 2))
        image += blob[..., None] * rng.uniform(-0.3, 0.3, size=3).astype(np.float32)
    return np.clip(image * rng.uniform(0.5, 1.0), 0.0, 1.0)


def make_synthetic_dataset(root, rows: int = 12, height: int = 48, width: int = 64, seed: int = 0,
                           train_users=TRAIN_USERS, test_users=TEST_USERS) -> Path:
    """Write ``rows`` photos (split 2/3 train, then val, test) and every user's edit of each; returns root.
    ``train_users``/``test_users`` choose how users.json splits the users of :data:`USER_EDITS`."""
    root = Path(root)
    rng = np.random.default_rng(seed)
    splits = ["train"] * (rows - 2 * max(1, rows // 6)) + ["val"] * max(1, rows // 6) + ["test"] * max(1, rows // 6)
    records = []
    for index, split in enumerate(splits):
        name = f"photo{index:03d}"
        photo = synthetic_photo(height, width, rng)
        save_image(photo, root / "input" / f"{name}.jpg")
        save_image(photo, root / PHOTOS_DIR / "synthetic" / f"{name}.jpg")
        for user, edit in USER_EDITS.items():
            save_image(np.clip(edit(photo), 0.0, 1.0), root / user / f"{name}.jpg")
        records.append({"name": name, "target": name, "scene": name, "split": split,
                        "collection": "synthetic", "source": f"synthetic/{name}.jpg"})
    with open(root / "manifest.csv", "w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(records[0]))
        writer.writeheader()
        writer.writerows(records)
    users = {name: {"family": "preset", "description": f"synthetic global edit '{name}'"} for name in USER_EDITS}
    # Where the undegraded photos are, as a real build records it: random users are rendered from them.
    (root / "build.json").write_text(json.dumps({"config": {"photos": str((root / PHOTOS_DIR).resolve())}}))
    (root / "users.json").write_text(json.dumps(
        {"train_users": list(train_users), "test_users": list(test_users), "users": users}, indent=2))
    return root
