"""Generated test photos (the real photo collection is never used in tests)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image


def synthetic_photo(height: int, width: int, seed: int) -> np.ndarray:
    """A float RGB 'photo': colour gradients, a few hard-edged shapes and fine texture."""
    rng = np.random.default_rng(seed)
    ys, xs = np.mgrid[0:height, 0:width].astype(np.float32)
    ys, xs = ys / height, xs / width
    img = np.stack([0.25 + 0.5 * xs, 0.3 + 0.4 * ys, 0.55 - 0.3 * xs * ys], axis=2)
    for _ in range(6):
        cy, cx, radius = rng.uniform(0.1, 0.9), rng.uniform(0.1, 0.9), rng.uniform(0.05, 0.2)
        disc = ((ys - cy) ** 2 + (xs - cx) ** 2) < radius ** 2
        img[disc] = rng.uniform(0.05, 0.95, size=3)
    img += 0.04 * rng.standard_normal(img.shape)
    return np.clip(img, 0.0, 1.0).astype(np.float32)


def exposure(img: np.ndarray, stops: float) -> np.ndarray:
    return np.clip((img ** 2.2 * 2.0 ** stops) ** (1 / 2.2), 0.0, 1.0)


def write_jpeg(img: np.ndarray, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray((img * 255 + 0.5).astype(np.uint8)).save(path, quality=95)
