"""Inputs "as in the wild": a per-photo, deterministic camera-like degradation.

FiveK's inputs are flat, often badly exposed renderings straight from the raw converter; the
photos available here are finished JPEGs. We turn a finished photo into such an input with a
small camera model whose five parameters are drawn from a generator seeded by the photo's file
name (so a rebuild gives the same inputs, and inputs do not depend on worker scheduling):

1. **Exposure** ``ev`` stops in linear light: 70 % of photos under-exposed by 0.3-1.6 stops,
   30 % over-exposed by 0.3-1.0 stop (FiveK's inputs are mostly dark).
2. **White balance**: a temperature gain pair (R up / B down or the reverse, +-15 %) and a green
   tint (+-6 %), as a wrong camera white balance would give; applied in linear light together
   with the exposure, followed by a soft highlight shoulder (knee 0.8) instead of hard clipping,
   since the photo's real highlights were already clipped once.
3. **Gamma** ``g`` in [0.8, 1.25] on the display-encoded values (a different transfer curve).
4. **Contrast** ``c`` in [0.65, 0.95]: values are pulled towards mid-grey, ``0.5 + c (x - 0.5)``,
   giving the flat, lifted-black look of an unprocessed raw rendering.

Targets are always rendered from the undegraded photo; for SICE exposure sequences the real
under/over-exposed shots are used as inputs instead (see :mod:`ml.data.photos`).
"""

from __future__ import annotations

import hashlib
import io
from dataclasses import asdict, dataclass

import numpy as np
from PIL import Image

from ml.styles import ops


@dataclass(frozen=True)
class Degradation:
    exposure_ev: float
    temperature: float
    tint: float
    gamma: float
    contrast: float

    def to_dict(self) -> dict:
        return {key: round(value, 4) for key, value in asdict(self).items()}


def seed_from(text: str, salt: str = "") -> int:
    """A stable 64-bit seed from a string (Python's ``hash`` is salted per process, so not that)."""
    return int.from_bytes(hashlib.sha256(f"{salt}:{text}".encode()).digest()[:8], "little")


def degradation_for(file_name: str, seed: int = 0) -> Degradation:
    """The degradation parameters of one photo, drawn from a generator seeded by its file name."""
    rng = np.random.default_rng(seed_from(file_name, f"degrade-{seed}"))
    under = rng.random() < 0.7
    exposure = -rng.uniform(0.3, 1.6) if under else rng.uniform(0.3, 1.0)
    return Degradation(
        exposure_ev=float(exposure),
        temperature=float(rng.uniform(-0.15, 0.15)),
        tint=float(rng.uniform(-0.06, 0.06)),
        gamma=float(rng.uniform(0.8, 1.25)),
        contrast=float(rng.uniform(0.65, 0.95)),
    )


def degrade(img: np.ndarray, params: Degradation) -> np.ndarray:
    """Apply the camera model above to a float RGB image in [0, 1]; returns float32 in [0, 1]."""
    gains = np.array([1.0 + params.temperature, 1.0 - params.tint, 1.0 - params.temperature], dtype=np.float32)
    gains *= np.float32(2.0 ** params.exposure_ev)
    out = ops.apply_linear_gains(img, gains, knee=0.8)
    out = np.power(out, np.float32(params.gamma), dtype=np.float32)
    return ops.clip01(0.5 + (out - 0.5) * np.float32(params.contrast))


def camera_input(img: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A fresh camera-like input for training, drawn from ``rng`` (point 4 of the v2 design): beside the
    exposure and white-balance errors above (applied in linear light), a third of the shots get a flat,
    log-like tone curve (how cameras' flat profiles and phone HDR look before grading), then mild sensor
    noise and JPEG compression, which is what people actually upload."""
    under = rng.random() < 0.6
    params = Degradation(
        exposure_ev=float(-rng.uniform(0.0, 1.8) if under else rng.uniform(0.0, 1.1)),
        temperature=float(rng.uniform(-0.18, 0.18)), tint=float(rng.uniform(-0.06, 0.06)),
        gamma=float(rng.uniform(0.8, 1.25)), contrast=float(rng.uniform(0.65, 1.0)))
    out = degrade(img, params)
    if rng.random() < 0.33:
        out = log_tone(out, float(rng.uniform(4.0, 16.0)))
    if rng.random() < 0.5:
        out = ops.clip01(out + rng.normal(0.0, rng.uniform(0.003, 0.02), out.shape).astype(np.float32))
    if rng.random() < 0.6:
        out = jpeg_roundtrip(out, int(rng.integers(55, 95)))
    return out


def log_tone(img: np.ndarray, strength: float) -> np.ndarray:
    """A log curve log(1 + s x) / log(1 + s): lifted shadows, compressed highlights, a flat look."""
    return (np.log1p(np.float32(strength) * img) / np.float32(np.log1p(strength))).astype(np.float32)


def jpeg_roundtrip(img: np.ndarray, quality: int) -> np.ndarray:
    buffer = io.BytesIO()
    Image.fromarray((img * 255.0 + 0.5).astype(np.uint8)).save(buffer, format="JPEG", quality=quality)
    buffer.seek(0)
    return np.asarray(Image.open(buffer).convert("RGB"), dtype=np.float32) / 255.0
