"""Photographer-like users: a per-photo correction followed by a personal look.

FiveK's experts first fix what is wrong with each photo (exposure, white balance) and then add
their taste. We model that in two steps: :func:`ml.styles.ops.auto_correct` moves each photo's
log-average luminance to the photographer's preferred key and neutralises its cast to the
photographer's preferred degree, then a fixed look (curve, colour, local contrast) is applied.
Keys are linear-light log-average luminances: 0.18 is 'middle grey', larger is brighter.
"""

from __future__ import annotations

import numpy as np

from ml.styles import ops


def airy_bright(img: np.ndarray) -> np.ndarray:
    """Bright, clean and soft: high key, open shadows, a little warmth and vibrance."""
    img = ops.auto_correct(img, key=0.26, wb_strength=0.9)
    img = ops.tone_curve(img, [(0, 0.04), (0.3, 0.34), (0.7, 0.74), (1, 0.98)])
    return ops.vibrance(ops.white_balance(img, temperature=0.03), 0.2)


def punchy_natural(img: np.ndarray) -> np.ndarray:
    """Natural colour with bite: neutral balance, firm contrast, clarity, moderate saturation."""
    img = ops.auto_correct(img, key=0.18, wb_strength=0.6)
    img = ops.tone_curve(img, [(0, 0), (0.25, 0.2), (0.75, 0.8), (1, 1)])
    return ops.saturation(ops.local_contrast(img, 0.6), 0.15)


def warm_moody(img: np.ndarray) -> np.ndarray:
    """Darker than average, warm, with crushed blacks and orange-brown mid-tones."""
    img = ops.auto_correct(img, key=0.12, wb_strength=0.6)
    img = ops.white_balance(img, temperature=0.09, tint=0.02)
    img = ops.tone_curve(img, [(0, 0), (0.15, 0.08), (0.6, 0.58), (1, 0.97)])
    return ops.hue_band(img, hue_deg=230, width_deg=90, sat_gain=0.7)


def clean_cool(img: np.ndarray) -> np.ndarray:
    """Commercial clean look: fully neutral, slightly cool, bright whites, restrained greens."""
    img = ops.auto_correct(img, key=0.2, wb_strength=0.7)
    img = ops.white_balance(img, temperature=-0.05)
    img = ops.tone_curve(img, [(0, 0), (0.5, 0.53), (0.85, 0.92), (1, 1)])
    return ops.hue_band(img, hue_deg=230, width_deg=80, sat_gain=0.75)


def film_emulation(img: np.ndarray) -> np.ndarray:
    """Film look: faded blacks, cool teal-grey shadows, warm highlights, gentle saturation."""
    img = ops.auto_correct(img, key=0.16, wb_strength=0.8)
    img = ops.channel_curves(img,
                             red=[(0, 0.05), (0.5, 0.5), (1, 0.98)],
                             green=[(0, 0.05), (0.5, 0.5), (1, 0.96)],
                             blue=[(0, 0.08), (0.5, 0.47), (1, 0.9)])
    return ops.split_tone(ops.saturation(img, -0.1), (0.42, 0.5, 0.52), (0.68, 0.55, 0.4), strength=0.12)


def documentary(img: np.ndarray) -> np.ndarray:
    """Reportage: neutral, muted colour, strong local contrast and deep blacks."""
    img = ops.auto_correct(img, key=0.15, wb_strength=1.0)
    img = ops.local_contrast(img, 1.0, sigma_fraction=0.02)
    img = ops.tone_curve(img, [(0, 0), (0.2, 0.13), (0.8, 0.85), (1, 1)])
    return ops.saturation(img, -0.35)


def vivid_landscape(img: np.ndarray) -> np.ndarray:
    """Landscape photographer: bright-ish, rich blue skies and lush greens, haze cut."""
    img = ops.auto_correct(img, key=0.17, wb_strength=0.9)
    img = ops.hsl_panel(img, ((330, 80, 0, 1.5, -0.05), (230, 70, -10, 1.3, 0.0)))
    img = ops.local_contrast(img, 0.5, sigma_fraction=0.06)
    return ops.vibrance(img, 0.35)
