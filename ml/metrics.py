"""All quality metrics in one place: PSNR, SSIM, CIEDE2000 ΔE, their per-user means (mPSNR, mSSIM), and the
share of a photo's fine detail an enhancement keeps.

Images are torch tensors ``(..., 3, H, W)`` or NumPy arrays ``H × W × 3``, values in [0, 1]. Per-image results
come back as a float (single image) or a 1-D tensor (batch).
SSIM follows Wang et al. (2004) exactly as scikit-image's ``structural_similarity`` does with
``gaussian_weights=True, sigma=1.5, use_sample_covariance=False, data_range=1, channel_axis=-1``: an 11-tap
Gaussian window, statistics averaged over the pixels whose window lies fully inside the image, then over
channels. CIEDE2000 uses sRGB (D65) → CIELAB as ``skimage.color.rgb2lab`` does.
"""

from __future__ import annotations

import math
from collections import defaultdict

import numpy as np
import torch
import torch.nn.functional as F

_SSIM_SIGMA = 1.5
_SSIM_RADIUS = int(3.5 * _SSIM_SIGMA + 0.5)  # scikit-image's truncate=3.5
_SSIM_C1 = 0.01 ** 2
_SSIM_C2 = 0.03 ** 2


def _as_batch(image) -> tuple[torch.Tensor, bool]:
    """Returns a float64 (N, 3, H, W) tensor and whether the input was a single image."""
    if isinstance(image, np.ndarray):
        if image.ndim != 3 or image.shape[-1] != 3:
            raise ValueError(f"Expected an H x W x 3 array, got shape {image.shape}.")
        scale = 1.0 / 255.0 if image.dtype == np.uint8 else 1.0
        image = torch.from_numpy(np.ascontiguousarray(image)).permute(2, 0, 1).double() * scale
    if image.dim() == 3:
        return image.double().unsqueeze(0), True
    if image.dim() == 4:
        return image.double(), False
    raise ValueError(f"Expected a (3, H, W) or (N, 3, H, W) tensor, got shape {tuple(image.shape)}.")


def _pair(prediction, target) -> tuple[torch.Tensor, torch.Tensor, bool]:
    prediction, single = _as_batch(prediction)
    target, _ = _as_batch(target)
    if prediction.shape != target.shape:
        raise ValueError(f"Shapes differ: {tuple(prediction.shape)} vs {tuple(target.shape)}.")
    return prediction, target.to(prediction.device), single


def _result(values: torch.Tensor, single: bool):
    return float(values[0]) if single else values.float()


def psnr(prediction, target):
    """Peak signal-to-noise ratio in dB for data range 1; identical images give +inf."""
    prediction, target, single = _pair(prediction, target)
    mse = (prediction - target).pow(2).flatten(1).mean(dim=1)
    return _result(10.0 * torch.log10(1.0 / mse), single)


def _gaussian_window(device) -> torch.Tensor:
    offsets = torch.arange(-_SSIM_RADIUS, _SSIM_RADIUS + 1, dtype=torch.float64, device=device)
    window = torch.exp(-0.5 * (offsets / _SSIM_SIGMA) ** 2)
    return window / window.sum()


def _valid_filter(image: torch.Tensor, window: torch.Tensor) -> torch.Tensor:
    """Separable Gaussian filter keeping only positions whose window is fully inside (N·3 planes at once)."""
    planes = image.reshape(-1, 1, *image.shape[-2:])
    planes = F.conv2d(planes, window.view(1, 1, 1, -1))
    planes = F.conv2d(planes, window.view(1, 1, -1, 1))
    return planes.view(*image.shape[:2], *planes.shape[-2:])


def ssim(prediction, target):
    """Structural similarity (mean over pixels and channels); images must be at least 11×11."""
    prediction, target, single = _pair(prediction, target)
    if min(prediction.shape[-2:]) < 2 * _SSIM_RADIUS + 1:
        raise ValueError(f"SSIM needs images of at least {2 * _SSIM_RADIUS + 1} pixels per side.")
    window = _gaussian_window(prediction.device)
    mean_p, mean_t = _valid_filter(prediction, window), _valid_filter(target, window)
    var_p = _valid_filter(prediction * prediction, window) - mean_p ** 2
    var_t = _valid_filter(target * target, window) - mean_t ** 2
    covariance = _valid_filter(prediction * target, window) - mean_p * mean_t
    numerator = (2 * mean_p * mean_t + _SSIM_C1) * (2 * covariance + _SSIM_C2)
    denominator = (mean_p ** 2 + mean_t ** 2 + _SSIM_C1) * (var_p + var_t + _SSIM_C2)
    return _result((numerator / denominator).flatten(1).mean(dim=1), single)


_RGB_TO_XYZ = torch.tensor([[0.412453, 0.357580, 0.180423],
                            [0.212671, 0.715160, 0.072169],
                            [0.019334, 0.119193, 0.950227]], dtype=torch.float64)
_D65_WHITE = torch.tensor([0.95047, 1.0, 1.08883], dtype=torch.float64)


def rgb_to_lab(image: torch.Tensor) -> torch.Tensor:
    """sRGB (N, 3, H, W) in [0, 1] → CIELAB (N, 3, H, W), D65 white, 2° observer."""
    image = image.double().clamp(0.0, 1.0)
    linear = torch.where(image > 0.04045, ((image + 0.055) / 1.055) ** 2.4, image / 12.92)
    xyz = torch.einsum("ij,njhw->nihw", _RGB_TO_XYZ.to(image.device), linear)
    xyz = xyz / _D65_WHITE.to(image.device).view(1, 3, 1, 1)
    epsilon = 0.008856
    f = torch.where(xyz > epsilon, xyz.clamp(min=epsilon) ** (1.0 / 3.0), 7.787 * xyz + 16.0 / 116.0)
    lightness = 116.0 * f[:, 1] - 16.0
    a = 500.0 * (f[:, 0] - f[:, 1])
    b = 200.0 * (f[:, 1] - f[:, 2])
    return torch.stack([lightness, a, b], dim=1)


def _hue_angle(b: torch.Tensor, a: torch.Tensor) -> torch.Tensor:
    return torch.remainder(torch.atan2(b, a), 2 * math.pi)


def delta_e_ciede2000_map(lab_1: torch.Tensor, lab_2: torch.Tensor) -> torch.Tensor:
    """Per-pixel CIEDE2000 colour difference (Sharma et al. 2005), kL = kC = kH = 1."""
    l1, a1, b1 = lab_1.unbind(dim=1)
    l2, a2, b2 = lab_2.unbind(dim=1)
    chroma_mean = 0.5 * (torch.hypot(a1, b1) + torch.hypot(a2, b2))
    g = 0.5 * (1 - torch.sqrt(chroma_mean ** 7 / (chroma_mean ** 7 + 25.0 ** 7)))
    a1, a2 = a1 * (1 + g), a2 * (1 + g)
    c1, c2 = torch.hypot(a1, b1), torch.hypot(a2, b2)
    h1, h2 = _hue_angle(b1, a1), _hue_angle(b2, a2)
    chroma_product_zero = (c1 * c2) == 0

    hue_difference = h2 - h1
    hue_difference = torch.where(hue_difference > math.pi, hue_difference - 2 * math.pi, hue_difference)
    hue_difference = torch.where(hue_difference < -math.pi, hue_difference + 2 * math.pi, hue_difference)
    hue_difference = torch.where(chroma_product_zero, torch.zeros_like(hue_difference), hue_difference)
    delta_l, delta_c = l2 - l1, c2 - c1
    delta_h = 2 * torch.sqrt(c1 * c2) * torch.sin(hue_difference / 2)

    l_mean, c_mean = 0.5 * (l1 + l2), 0.5 * (c1 + c2)
    hue_sum = h1 + h2
    hue_mean = torch.where((h1 - h2).abs() > math.pi,
                           torch.where(hue_sum < 2 * math.pi, hue_sum + 2 * math.pi, hue_sum - 2 * math.pi),
                           hue_sum) / 2
    hue_mean = torch.where(chroma_product_zero, hue_sum, hue_mean)
    t = (1 - 0.17 * torch.cos(hue_mean - math.radians(30)) + 0.24 * torch.cos(2 * hue_mean)
         + 0.32 * torch.cos(3 * hue_mean + math.radians(6)) - 0.20 * torch.cos(4 * hue_mean - math.radians(63)))
    rotation_angle = math.radians(30) * torch.exp(-(((torch.rad2deg(hue_mean) - 275) / 25) ** 2))
    rotation = -2 * torch.sqrt(c_mean ** 7 / (c_mean ** 7 + 25.0 ** 7)) * torch.sin(2 * rotation_angle)
    scale_l = 1 + 0.015 * (l_mean - 50) ** 2 / torch.sqrt(20 + (l_mean - 50) ** 2)
    scale_c = 1 + 0.045 * c_mean
    scale_h = 1 + 0.015 * c_mean * t
    term_l, term_c, term_h = delta_l / scale_l, delta_c / scale_c, delta_h / scale_h
    return torch.sqrt(term_l ** 2 + term_c ** 2 + term_h ** 2 + rotation * term_c * term_h)


def delta_e(prediction, target):
    """Mean CIEDE2000 ΔE between two sRGB images."""
    prediction, target, single = _pair(prediction, target)
    difference = delta_e_ciede2000_map(rgb_to_lab(prediction), rgb_to_lab(target))
    return _result(difference.flatten(1).mean(dim=1), single)


_LAPLACIAN = torch.tensor([[0.0, 1.0, 0.0], [1.0, -4.0, 1.0], [0.0, 1.0, 0.0]], dtype=torch.float64)


def detail_energy(image):
    """Mean absolute 4-neighbour Laplacian of the grey image (channel mean): how much fine detail it holds."""
    image, single = _as_batch(image)
    laplacian = F.conv2d(image.mean(dim=1, keepdim=True), _LAPLACIAN.to(image.device)[None, None])
    return _result(laplacian.abs().flatten(1).mean(dim=1), single)


def detail_kept(result, source):
    """Fine detail of an enhanced photo relative to its source (1: all kept, below: blurred, above: sharpened).

    Why: a look applied through colour matrices enlarged from the network's 128 px can blur a full-size photo
    while every metric computed at training size is unaffected; this is the number that shows it."""
    return detail_energy(result) / detail_energy(source)


class UserMetrics:
    """Accumulates per-image scores by user; mPSNR/mSSIM/mΔE average the per-user means (Sec. 4.1)."""

    NAMES = ("psnr", "ssim", "delta_e")

    def __init__(self):
        self._scores: dict[str, dict[str, list[float]]] = defaultdict(lambda: {name: [] for name in self.NAMES})

    def update(self, user: str, prediction, target) -> None:
        prediction, target, _ = _pair(prediction, target)
        scores = self._scores[user]
        for name, function in zip(self.NAMES, (psnr, ssim, delta_e)):
            scores[name].extend(function(prediction, target).tolist())

    def summary(self) -> dict:
        """``{"users": {user: {"psnr", "ssim", "delta_e", "images"}}, "mpsnr", "mssim", "mdelta_e"}``."""
        per_user = {
            user: {**{name: float(np.mean(values)) for name, values in scores.items()},
                   "images": len(scores["psnr"])}
            for user, scores in sorted(self._scores.items())
        }
        summary: dict = {"users": per_user}
        for name in self.NAMES:
            values = [entry[name] for entry in per_user.values()]
            summary[f"m{name}"] = float(np.mean(values)) if values else float("nan")
        return summary
