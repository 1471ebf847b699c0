"""Vectorized building blocks for the retouching users (NumPy, float32 H x W x 3 in [0, 1]).

Every operation is a pure function of its inputs so that a style is deterministic. Spatial sizes
(blur radii, filter windows, vignettes) are given as fractions of the image's shorter side, so a
style gives the same look at any resolution. Costs are kept to a few milliseconds per 512 x 512
image: look-up tables instead of transcendental functions, and large blurs computed on a
down-sampled copy (a Gaussian of a low-frequency signal loses nothing by being computed small).
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
from PIL import Image
from scipy import ndimage
from scipy.interpolate import PchipInterpolator

LUT_SIZE = 4096
"""Entries of every tone look-up table; 1/4096 steps are far below 8-bit output precision."""

_LUMA = np.array([0.2126, 0.7152, 0.0722], dtype=np.float32)
"""Rec. 709 luma weights (applied to the gamma-encoded values, as editors do)."""

EPS = 1e-4


def clip01(img: np.ndarray) -> np.ndarray:
    return np.clip(img, 0.0, 1.0).astype(np.float32, copy=False)


def luminance(img: np.ndarray) -> np.ndarray:
    return img @ _LUMA


def channel_max(img: np.ndarray) -> np.ndarray:
    """max over R, G, B; pairwise maxima are several times faster than a strided ``max(axis=2)``."""
    return np.maximum(np.maximum(img[..., 0], img[..., 1]), img[..., 2])


def channel_min(img: np.ndarray) -> np.ndarray:
    return np.minimum(np.minimum(img[..., 0], img[..., 1]), img[..., 2])


def short_side(img: np.ndarray) -> int:
    return min(img.shape[0], img.shape[1])


# ---------------------------------------------------------------------------------------------
# Look-up tables and tone curves
# ---------------------------------------------------------------------------------------------

def apply_lut(values: np.ndarray, lut: np.ndarray) -> np.ndarray:
    """Map values in [0, 1] through a table of ``LUT_SIZE`` samples (nearest entry)."""
    index = np.clip(values, 0.0, 1.0) * (LUT_SIZE - 1) + 0.5
    return lut[index.astype(np.int32)]


@lru_cache(maxsize=256)
def curve_lut(points: tuple[tuple[float, float], ...]) -> np.ndarray:
    """Monotone cubic (PCHIP) tone curve through ``points`` as a table; like Lightroom's point curve."""
    xs, ys = zip(*points)
    grid = np.linspace(0.0, 1.0, LUT_SIZE)
    lut = np.clip(PchipInterpolator(xs, ys)(grid), 0.0, 1.0).astype(np.float32)
    lut.setflags(write=False)
    return lut


def tone_curve(img: np.ndarray, points) -> np.ndarray:
    """Apply one point curve to all channels (like the RGB curve of an editor)."""
    return apply_lut(img, curve_lut(tuple(map(tuple, points))))


def channel_curves(img: np.ndarray, red, green, blue) -> np.ndarray:
    """Separate point curves per channel: the tool behind film and cross-processing looks."""
    out = np.empty_like(img)
    for channel, points in enumerate((red, green, blue)):
        out[..., channel] = apply_lut(img[..., channel], curve_lut(tuple(map(tuple, points))))
    return out


@lru_cache(maxsize=8)
def _gamma_lut(gamma: float) -> np.ndarray:
    lut = np.linspace(0.0, 1.0, LUT_SIZE, dtype=np.float32) ** np.float32(gamma)
    lut.setflags(write=False)
    return lut


def to_linear(img: np.ndarray) -> np.ndarray:
    """Gamma 2.2 decode; close enough to sRGB for edits that only need 'light is additive'."""
    return apply_lut(img, _gamma_lut(2.2))


def to_display(img: np.ndarray) -> np.ndarray:
    return apply_lut(img, _gamma_lut(1.0 / 2.2))


def highlight_shoulder(linear: np.ndarray, knee: float = 0.75) -> np.ndarray:
    """Roll values above ``knee`` smoothly towards 1 instead of clipping them (film-like shoulder).

    Brightening edits (exposure gains, illumination maps) would otherwise burn skies to flat white.
    """
    span = 1.0 - knee
    over = np.maximum(linear - knee, 0.0)
    rolled = knee + span * (1.0 - np.exp(-over / span))
    return np.where(linear > knee, rolled, linear).astype(np.float32)


# ---------------------------------------------------------------------------------------------
# Colour
# ---------------------------------------------------------------------------------------------

def saturation(img: np.ndarray, amount: float) -> np.ndarray:
    """Scale the distance from grey by ``1 + amount`` (-1 gives monochrome)."""
    luma = luminance(img)[..., None]
    return clip01(luma + (img - luma) * np.float32(1.0 + amount))


def vibrance(img: np.ndarray, amount: float) -> np.ndarray:
    """Saturate muted colours more than vivid ones, so skin and skies do not go neon."""
    luma = luminance(img)[..., None]
    gain = 1.0 + np.float32(amount) * (1.0 - channel_max(img) + channel_min(img))[..., None]
    return clip01(luma + (img - luma) * gain)


def white_balance(img: np.ndarray, temperature: float = 0.0, tint: float = 0.0) -> np.ndarray:
    """Warm (+) / cool (-) and magenta (+) / green (-) shifts as channel gains in linear light.

    Gains are normalised to keep luminance, so a temperature change does not also brighten.
    """
    gains = np.array([1.0 + temperature, 1.0 - tint, 1.0 - temperature], dtype=np.float32)
    return apply_linear_gains(img, gains / np.float32(gains @ _LUMA))


def apply_linear_gains(img: np.ndarray, gains, knee: float = 0.85) -> np.ndarray:
    """Multiply each channel's linear light by a gain, roll off highlights, re-encode.

    The whole chain is a 1-D function per channel, so it runs as three table look-ups.
    """
    levels = to_linear(np.linspace(0.0, 1.0, LUT_SIZE, dtype=np.float32))
    out = np.empty_like(img)
    for channel, gain in enumerate(np.asarray(gains, dtype=np.float32)):
        lut = to_display(highlight_shoulder(levels * gain, knee=knee))
        out[..., channel] = apply_lut(img[..., channel], lut)
    return out


def split_tone(img: np.ndarray, shadow_rgb, highlight_rgb, strength: float = 0.12,
               balance: float = 0.5) -> np.ndarray:
    """Tint shadows and highlights with two colours (overlay of a colour offset weighted by luma)."""
    luma = luminance(img)[..., None]
    highlight_weight = np.clip((luma - balance) * 2.0 + 0.5, 0.0, 1.0)
    shadow = np.asarray(shadow_rgb, dtype=np.float32) - 0.5
    highlight = np.asarray(highlight_rgb, dtype=np.float32) - 0.5
    offset = (shadow * (1.0 - highlight_weight) + highlight * highlight_weight) * np.float32(strength)
    midtone = 4.0 * luma * (1.0 - luma)  # tints vanish at pure black and pure white
    return clip01(img + offset * (0.35 + 0.65 * midtone))


_YCC = np.array([[0.299, 0.587, 0.114],
                 [-0.168736, -0.331264, 0.5],
                 [0.5, -0.418688, -0.081312]], dtype=np.float32)
_YCC_INV = np.linalg.inv(_YCC).astype(np.float32)


def to_ycc(img: np.ndarray) -> np.ndarray:
    return img @ _YCC.T


def from_ycc(ycc: np.ndarray) -> np.ndarray:
    return clip01(ycc @ _YCC_INV.T)


def hue_band(img: np.ndarray, hue_deg: float, width_deg: float = 60.0, hue_shift_deg: float = 0.0,
             sat_gain: float = 1.0, lum_shift: float = 0.0) -> np.ndarray:
    """HSL-panel edit of one colour band: shift its hue, scale its saturation, lift its luminance.

    Hue angles in the YCbCr chroma plane: magenta ~ 50 deg, red ~ 110, orange/skin ~ 140,
    yellow ~ 170, green ~ 230, cyan ~ 290, sky blue ~ 325, blue ~ 350.
    """
    return hsl_panel(img, ((hue_deg, width_deg, hue_shift_deg, sat_gain, lum_shift),))


def hsl_panel(img: np.ndarray, bands: tuple[tuple[float, float, float, float, float], ...]) -> np.ndarray:
    """Several HSL bands at once, like Lightroom's HSL panel: each band is (hue, width, hue shift,
    saturation gain, luminance shift), weighted by a smooth raised-cosine window around its hue.

    All band weights come from the original colour, and the edit depends only on (Cb, Cr), so
    its coefficients come from one cached 2-D table and the photo is converted to YCbCr once.
    """
    ycc = to_ycc(img)
    cb, cr = ycc[..., 1], ycc[..., 2]
    rotate_cos, rotate_sin, luma_lift = _hsl_tables(tuple(map(tuple, bands)))
    index = _chroma_index(cb) * _CHROMA_LEVELS + _chroma_index(cr)
    a, b = rotate_cos.ravel()[index], rotate_sin.ravel()[index]
    out = np.empty_like(ycc)
    out[..., 0] = ycc[..., 0] + luma_lift.ravel()[index]
    out[..., 1] = cb * a - cr * b
    out[..., 2] = cb * b + cr * a
    return from_ycc(out)


_CHROMA_LEVELS = 256


def _chroma_index(channel: np.ndarray) -> np.ndarray:
    return np.clip((channel + 0.5) * (_CHROMA_LEVELS - 1) + 0.5, 0, _CHROMA_LEVELS - 1).astype(np.int32)


@lru_cache(maxsize=64)
def _hsl_tables(bands):
    """(gain * cos, gain * sin, luma lift) on a Cb x Cr grid for :func:`hsl_panel`."""
    grid = np.arange(_CHROMA_LEVELS, dtype=np.float64) / (_CHROMA_LEVELS - 1) - 0.5
    cb, cr = np.meshgrid(grid, grid, indexing="ij")
    hue = np.arctan2(cr, cb)
    chroma_weight = np.minimum((cb * cb + cr * cr) * 64.0, 1.0)  # leave greys alone
    gain, angle, lift = np.ones_like(cb), np.zeros_like(cb), np.zeros_like(cb)
    for hue_deg, width_deg, hue_shift_deg, sat_gain, lum_shift in bands:
        distance = np.angle(np.exp(1j * (hue - np.deg2rad(hue_deg))))
        weight = 0.5 + 0.5 * np.cos(np.minimum(np.abs(distance) / np.deg2rad(width_deg / 2.0), 1.0) * np.pi)
        weight *= chroma_weight
        gain *= 1.0 + (sat_gain - 1.0) * weight
        angle += np.deg2rad(hue_shift_deg) * weight
        lift += lum_shift * weight
    tables = tuple(table.astype(np.float32) for table in (gain * np.cos(angle), gain * np.sin(angle), lift))
    for table in tables:
        table.setflags(write=False)
    return tables


def gray_world_gains(img: np.ndarray, clamp: float = 0.2) -> np.ndarray:
    """Linear-light channel gains that make the mid-tones' average grey (robust gray-world).

    Near-black and clipped pixels are left out; gains are limited to ``1 +- clamp`` so that a
    photo of a green forest gets a mild correction rather than a magenta cast.
    """
    linear = to_linear(img[::2, ::2])
    luma = linear @ _LUMA
    mask = (luma > 0.02) & (luma < 0.9)
    pixels = linear[mask] if mask.sum() > 64 else linear.reshape(-1, 3)
    means = pixels.mean(axis=0) + EPS
    gains = np.float32(means @ _LUMA) / means
    return np.clip(gains, 1.0 - clamp, 1.0 + clamp).astype(np.float32)


def log_average_luminance(img: np.ndarray) -> float:
    """Geometric mean of linear luminance ('key' of the scene, Reinhard et al. 2002)."""
    luma = to_linear(img[::2, ::2]) @ _LUMA
    return float(np.exp(np.mean(np.log(luma + 1e-3))))


def auto_correct(img: np.ndarray, key: float = 0.18, wb_strength: float = 1.0,
                 max_ev: float = 1.5) -> np.ndarray:
    """Per-photo exposure and white-balance correction, the first step of a photographer's edit.

    Exposure: a linear gain that moves the photo's log-average luminance to ``key`` (limited to
    +- ``max_ev`` stops); white balance: the robust gray-world gains, applied ``wb_strength`` of
    the way. Highlights are rolled off, not clipped.
    """
    gain = np.clip(key / max(log_average_luminance(img), 1e-3), 2.0 ** -max_ev, 2.0 ** max_ev)
    wb = gray_world_gains(img) ** np.float32(wb_strength)
    return apply_linear_gains(img, wb / np.float32(wb @ _LUMA) * np.float32(gain), knee=0.7)


# ---------------------------------------------------------------------------------------------
# Spatial filters
# ---------------------------------------------------------------------------------------------

def _shrink_channel(channel: np.ndarray, factor: int) -> np.ndarray:
    """Box-average a float channel down by ``factor``: large filters then run on far fewer pixels."""
    height, width = channel.shape
    small_size = (max(1, width // factor), max(1, height // factor))
    return np.asarray(Image.fromarray(channel.astype(np.float32)).resize(small_size, Image.BOX))


def _enlarge_channel(channel: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """Bilinear float up-sampling back to ``shape`` (height, width)."""
    height, width = shape
    return np.asarray(Image.fromarray(channel).resize((width, height), Image.BILINEAR), dtype=np.float32)


def smooth(channel: np.ndarray, sigma_fraction: float) -> np.ndarray:
    """Gaussian blur with sigma = ``sigma_fraction`` x short side, computed on a reduced copy."""
    sigma = sigma_fraction * min(channel.shape)
    factor = max(1, int(sigma // 2))
    if factor == 1:
        return ndimage.gaussian_filter(channel, sigma, mode="reflect").astype(np.float32)
    small = ndimage.gaussian_filter(_shrink_channel(channel, factor), sigma / factor, mode="reflect")
    return _enlarge_channel(small, channel.shape)


def box_mean(channel: np.ndarray, radius: int) -> np.ndarray:
    return ndimage.uniform_filter(channel, size=2 * radius + 1, mode="reflect")


def guided_filter(guide: np.ndarray, source: np.ndarray, radius: int, eps: float) -> np.ndarray:
    """Edge-preserving smoothing of ``source`` steered by ``guide`` (He et al., 2010).

    Computed as the *fast* guided filter (He & Sun, 2015): the linear coefficients are estimated
    on a copy reduced so the box radius is ~4 px, then up-sampled; the guide keeps full detail.
    """
    factor = max(1, radius // 4)

    def reduce(channel):
        return channel if factor == 1 else _shrink_channel(channel, factor)

    def enlarge(channel):
        return channel if factor == 1 else _enlarge_channel(channel, guide.shape)

    small_guide, small_source = reduce(guide), reduce(source)
    small_radius = max(1, radius // factor)
    mean_g = box_mean(small_guide, small_radius)
    mean_s = box_mean(small_source, small_radius)
    cov = box_mean(small_guide * small_source, small_radius) - mean_g * mean_s
    var = box_mean(small_guide * small_guide, small_radius) - mean_g * mean_g
    a = cov / (var + np.float32(eps))
    b = mean_s - a * mean_g
    return (enlarge(box_mean(a, small_radius)) * guide + enlarge(box_mean(b, small_radius))).astype(np.float32)


def radius_px(img: np.ndarray, fraction: float) -> int:
    return max(1, int(round(fraction * short_side(img))))


def local_contrast(img: np.ndarray, amount: float, sigma_fraction: float = 0.03) -> np.ndarray:
    """Clarity: amplify luminance detail around a blurred base, mostly in the mid-tones."""
    luma = luminance(img)
    detail = luma - smooth(luma, sigma_fraction)
    midtone = 1.0 - np.abs(2.0 * luma - 1.0) ** 2
    return clip01(img + (np.float32(amount) * detail * midtone)[..., None])


def scale_to_luminance(img: np.ndarray, old_luma: np.ndarray, new_luma: np.ndarray) -> np.ndarray:
    """Give ``img`` a new luminance by scaling RGB (hue kept), never pushing a channel past 1.

    This is the colour-restoration rule of MSRCP (Petro et al., 2014): the gain is the smaller of
    the luminance ratio and 1 / max channel.
    """
    ratio = new_luma / np.maximum(old_luma, 1e-3)
    limit = 1.0 / np.maximum(channel_max(img), 1e-3)
    return clip01(img * np.minimum(ratio, limit)[..., None])


def vignette(img: np.ndarray, strength: float, midpoint: float = 0.55) -> np.ndarray:
    """Darken (strength > 0) or lighten the corners with a smooth radial falloff."""
    return clip01(img * _vignette_mask(img.shape[:2], strength, midpoint)[..., None])


@lru_cache(maxsize=16)
def _vignette_mask(shape: tuple[int, int], strength: float, midpoint: float) -> np.ndarray:
    height, width = shape
    ys = (np.arange(height, dtype=np.float32) - (height - 1) / 2.0) / (height / 2.0)
    xs = (np.arange(width, dtype=np.float32) - (width - 1) / 2.0) / (width / 2.0)
    radius = np.sqrt(ys[:, None] ** 2 + xs[None, :] ** 2) / np.sqrt(2.0)
    falloff = np.clip((radius - midpoint) / (1.0 - midpoint), 0.0, 1.0) ** 2
    mask = (1.0 - np.float32(strength) * falloff).astype(np.float32)
    mask.setflags(write=False)
    return mask


def blend(base: np.ndarray, layer: np.ndarray, opacity: float) -> np.ndarray:
    return (base + (layer - base) * np.float32(opacity)).astype(np.float32)
