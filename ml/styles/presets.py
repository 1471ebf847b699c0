"""Lightroom-like presets: global parametric edits with fixed settings (the paper's 15 Lightroom presets).

A preset does not look at the photo: the same curve, colour shifts and effects are applied to every
image, which is what distinguishes this family from the adaptive methods and the photographers.
The paper does not list which Lightroom presets it used; these cover the common preset families
(contrast curves, matte/faded, high/low key, warm/cool, split toning, HSL, clarity, vignette,
film emulation, monochrome).
"""

from __future__ import annotations

import numpy as np

from ml.styles import ops


def vivid(img: np.ndarray) -> np.ndarray:
    """Punchy colour: vibrance and saturation up, gentle S-curve."""
    img = ops.tone_curve(img, [(0, 0), (0.25, 0.24), (0.75, 0.83), (1, 1)])
    return ops.saturation(ops.vibrance(img, 0.5), 0.2)


def strong_contrast(img: np.ndarray) -> np.ndarray:
    """Steep S-curve with deep blacks, colours left as they are."""
    return ops.tone_curve(img, [(0, 0), (0.2, 0.1), (0.5, 0.5), (0.8, 0.91), (1, 1)])


def matte_fade(img: np.ndarray) -> np.ndarray:
    """Lifted, milky blacks and slightly lowered whites with muted colour (the 'faded' look)."""
    img = ops.tone_curve(img, [(0, 0.13), (0.3, 0.33), (0.7, 0.72), (1, 0.93)])
    return ops.saturation(img, -0.25)


def high_key(img: np.ndarray) -> np.ndarray:
    """Bright and airy: raised mid-tones, soft contrast, a touch of coolness."""
    img = ops.tone_curve(img, [(0, 0.06), (0.35, 0.55), (0.7, 0.86), (1, 1)])
    return ops.white_balance(ops.saturation(img, -0.1), temperature=-0.03)


def low_key(img: np.ndarray) -> np.ndarray:
    """Dark and moody: mid-tones pulled down, highlights kept, subtle vignette."""
    img = ops.tone_curve(img, [(0, 0), (0.3, 0.14), (0.6, 0.42), (0.9, 0.86), (1, 1)])
    return ops.vignette(img, 0.35)


def warm_golden(img: np.ndarray) -> np.ndarray:
    """Golden-hour warmth: strong temperature shift towards amber, slight magenta tint."""
    img = ops.white_balance(img, temperature=0.14, tint=0.03)
    return ops.tone_curve(img, [(0, 0.02), (0.5, 0.53), (1, 1)])


def cool_blue(img: np.ndarray) -> np.ndarray:
    """Cold, wintry look: temperature towards blue, gentle contrast, slightly desaturated."""
    img = ops.white_balance(img, temperature=-0.25, tint=-0.02)
    img = ops.channel_curves(img, red=[(0, 0.02), (0.5, 0.48), (1, 0.97)], green=[(0, 0.03), (0.5, 0.5), (1, 1)],
                             blue=[(0, 0.07), (0.5, 0.54), (1, 1)])
    return ops.saturation(img, -0.15)


def teal_orange(img: np.ndarray) -> np.ndarray:
    """Cinematic split toning: teal shadows, orange highlights, skin tones pushed to orange."""
    img = ops.split_tone(img, shadow_rgb=(0.2, 0.55, 0.6), highlight_rgb=(0.75, 0.5, 0.25), strength=0.3)
    img = ops.hue_band(img, hue_deg=140, width_deg=70, sat_gain=1.2)
    return ops.tone_curve(img, [(0, 0.03), (0.25, 0.2), (0.75, 0.8), (1, 0.98)])


def mono_classic(img: np.ndarray) -> np.ndarray:
    """Black and white from a red-filtered channel mix (darker skies) with a contrast curve."""
    gray = img @ np.array([0.45, 0.45, 0.10], dtype=np.float32)
    gray = ops.apply_lut(gray, ops.curve_lut(((0, 0), (0.25, 0.19), (0.75, 0.82), (1, 1))))
    return np.repeat(gray[..., None], 3, axis=2)


def sepia(img: np.ndarray) -> np.ndarray:
    """Toned monochrome: warm brown shadows to cream highlights, low contrast."""
    gray = ops.luminance(img)
    gray = ops.apply_lut(gray, ops.curve_lut(((0, 0.06), (0.5, 0.5), (1, 0.96))))[..., None]
    tone = np.array([1.07, 0.99, 0.82], dtype=np.float32)
    return ops.clip01(gray * tone + (1.0 - gray) * gray * np.array([0.06, 0.02, -0.03], dtype=np.float32))


def vintage_film(img: np.ndarray) -> np.ndarray:
    """Faded film: per-channel curves (green-blue shadows, warm highlights), reduced saturation."""
    img = ops.channel_curves(img,
                             red=[(0, 0.04), (0.5, 0.56), (1, 0.98)],
                             green=[(0, 0.09), (0.5, 0.52), (1, 0.93)],
                             blue=[(0, 0.16), (0.5, 0.44), (1, 0.8)])
    return ops.saturation(img, -0.15)


def cross_process(img: np.ndarray) -> np.ndarray:
    """Slide film developed as negative: contrasty red, lifted blue blacks, yellow-green highlights."""
    img = ops.channel_curves(img,
                             red=[(0, 0), (0.25, 0.17), (0.75, 0.86), (1, 1)],
                             green=[(0, 0.02), (0.25, 0.22), (0.75, 0.82), (1, 0.98)],
                             blue=[(0, 0.07), (0.5, 0.45), (1, 0.8)])
    return ops.saturation(img, 0.1)


def clarity_pop(img: np.ndarray) -> np.ndarray:
    """Strong clarity (local contrast) with some vibrance: the 'HDR-ish' detail look."""
    img = ops.local_contrast(img, 1.4, sigma_fraction=0.04)
    return ops.vibrance(img, 0.3)


def soft_portrait(img: np.ndarray) -> np.ndarray:
    """Flattering portraits: negative clarity (softened texture), warm skin, soft vignette."""
    img = ops.local_contrast(img, -0.3, sigma_fraction=0.01)
    img = ops.hue_band(img, hue_deg=140, width_deg=60, sat_gain=0.9, lum_shift=0.03)
    img = ops.white_balance(img, temperature=0.05)
    return ops.vignette(img, 0.25, midpoint=0.5)


def pastel(img: np.ndarray) -> np.ndarray:
    """Dreamy pastel: bright lifted tones, low saturation, pink-magenta tint."""
    img = ops.tone_curve(img, [(0, 0.16), (0.5, 0.62), (1, 0.98)])
    img = ops.saturation(img, -0.4)
    return ops.white_balance(img, temperature=0.02, tint=0.06)


def lush_landscape(img: np.ndarray) -> np.ndarray:
    """HSL landscape preset: greens shifted to yellow-green and brightened, skies deepened."""
    img = ops.hsl_panel(img, ((230, 90, -25, 1.5, 0.06), (330, 80, 0, 1.5, -0.08)))
    img = ops.white_balance(img, temperature=0.06)
    return ops.tone_curve(img, [(0, 0), (0.25, 0.2), (0.75, 0.82), (1, 1)])


def bleach_bypass(img: np.ndarray) -> np.ndarray:
    """Silver retained in the print: half desaturated, hard contrast, metallic highlights."""
    gray = ops.luminance(img)[..., None]
    overlay = np.where(gray < 0.5, 2 * img * gray, 1 - 2 * (1 - img) * (1 - gray)).astype(np.float32)
    img = ops.blend(img, overlay, 0.8)
    return ops.saturation(img, -0.4)


def kodachrome(img: np.ndarray) -> np.ndarray:
    """Rich slide film: saturated reds and deep blues, dense shadows, warm neutral highlights."""
    img = ops.hsl_panel(img, ((110, 70, 0, 1.3, 0.0), (340, 70, 0, 1.25, -0.04)))
    img = ops.channel_curves(img,
                             red=[(0, 0), (0.3, 0.23), (0.7, 0.72), (1, 1)],
                             green=[(0, 0), (0.3, 0.21), (0.7, 0.68), (1, 0.97)],
                             blue=[(0, 0.02), (0.3, 0.21), (0.7, 0.64), (1, 0.93)])
    return ops.saturation(img, 0.1)


def soft_glow(img: np.ndarray) -> np.ndarray:
    """Orton-style glow: a blurred, brightened copy screened over the photo."""
    glow = ops.to_linear(img)
    blurred = np.stack([ops.smooth(glow[..., c], 0.025) for c in range(3)], axis=2)
    screened = 1.0 - (1.0 - img) * (1.0 - ops.to_display(blurred) * np.float32(0.55))
    return ops.saturation(ops.blend(img, screened, 0.8), 0.1)


def lomo(img: np.ndarray) -> np.ndarray:
    """Toy-camera look: heavy vignette, high saturation, crushed shadows, a green-yellow cast."""
    img = ops.tone_curve(img, [(0, 0), (0.25, 0.15), (0.75, 0.84), (1, 1)])
    img = ops.white_balance(ops.saturation(img, 0.35), temperature=0.04, tint=-0.04)
    return ops.vignette(img, 0.6, midpoint=0.35)
