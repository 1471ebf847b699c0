"""Fast resizing between a full-resolution H×W×3 photo and PieNet's small copy, on the photo's own layout.

Both directions are separable linear filters (the triangle filter of PyTorch's ``bilinear, antialias=True``,
which is plain bilinear ``align_corners=False`` when enlarging). The small axis (width, on small data) goes
through ``F.interpolate``; the height pass over the full-size data is a banded matrix product on the
``H × (W·3)`` plane, applied in blocks of rows restricted to the band of input rows they need. For the
up-sampling the product also adds the photo (``addmm``), so the 12-megapixel data takes two passes (product,
clip) instead of four (interpolate, permute, add, clip). Measured on the 2-core CPU this takes about half the
time of ``F.interpolate`` on the H×W×3 view; results equal ``F.interpolate`` to float rounding (tests compare).
"""

from __future__ import annotations

import functools
import math

import torch
import torch.nn.functional as F

MAX_BLOCKS = 16
AFFINE_BLOCK_BYTES = 8 << 20
"""Size of a block of the full-resolution colour-matrix map: blocks that stay in the cache made a 12-megapixel photo
faster on the 2-core CPU (one thread: 0.49 s in 72 blocks, 0.79 s in 16)."""


@functools.lru_cache(maxsize=4)
def _row_filter(out_size: int, in_size: int, device: torch.device) -> tuple[torch.Tensor, list[int], list[int]]:
    """(out_size × in_size) resampling weights and, per output row, the first and last input row it reads."""
    scale = in_size / out_size
    support = max(scale, 1.0)
    centres = (torch.arange(out_size, dtype=torch.float64) + 0.5) * scale
    positions = torch.arange(in_size, dtype=torch.float64) + 0.5
    weights = (1.0 - ((positions[None, :] - centres[:, None]) / support).abs()).clamp_(min=0.0)
    weights /= weights.sum(dim=1, keepdim=True)
    nonzero = weights > 0
    first = nonzero.to(torch.int8).argmax(dim=1).tolist()
    last = (in_size - 1 - nonzero.flip(1).to(torch.int8).argmax(dim=1)).tolist()
    return weights.float().to(device), first, last


def _filter_rows(plane: torch.Tensor, out_rows: int, base: torch.Tensor | None = None) -> torch.Tensor:
    """Resample the rows of a 2-D ``plane``; with ``base`` (same shape as the result) return clip(base + result).

    At most :data:`MAX_BLOCKS` products: each is a parallel region, and on a machine shared with other
    processes every region can wait a whole scheduler slice for a descheduled thread (measured: ~200 small
    blocks took 2.2 s under load, 16 blocks 0.3 s, with no loss when the machine is quiet).
    """
    weights, first, last = _row_filter(out_rows, plane.shape[0], plane.device)
    result = torch.empty(out_rows, plane.shape[1], dtype=plane.dtype, device=plane.device)
    block = math.ceil(out_rows / MAX_BLOCKS)
    for start in range(0, out_rows, block):
        stop = min(out_rows, start + block)
        band = slice(first[start], last[stop - 1] + 1)
        if base is None:
            torch.mm(weights[start:stop, band], plane[band], out=result[start:stop])
        else:
            torch.addmm(base[start:stop], weights[start:stop, band], plane[band], out=result[start:stop])
    return result if base is None else result.clamp_(0.0, 1.0)


def shrink(photo: torch.Tensor, height: int, width: int) -> torch.Tensor:
    """H×W×3 photo → 1×3×height×width copy, antialiased (as ``F.interpolate(..., antialias=True)``)."""
    full_height, full_width = photo.shape[:2]
    rows = _filter_rows(photo.reshape(full_height, full_width * 3), height)
    rows = rows.view(1, height, full_width, 3).permute(0, 3, 1, 2).contiguous()
    return F.interpolate(rows, size=(height, width), mode="bilinear", antialias=True, align_corners=False)


def add_enlarged(photo: torch.Tensor, delta: torch.Tensor) -> torch.Tensor:
    """clip(photo + the 1×3×h×w ``delta`` resized to the photo's H×W) as an H×W×3 tensor: bilinear enlargement,
    or an antialiased reduction for photos smaller than the network size."""
    height, width = photo.shape[:2]
    small_height = delta.shape[-2]
    rows = F.interpolate(delta, size=(small_height, width), mode="bilinear", antialias=True, align_corners=False)
    rows = rows[0].permute(1, 2, 0).reshape(small_height, width * 3)
    return _filter_rows(rows, height, base=photo.reshape(height, width * 3)).view(height, width, 3)


def apply_enlarged_affine(photo: torch.Tensor, coefficients: torch.Tensor) -> torch.Tensor:
    """clip(A·photo + b) as an H×W×3 tensor, the 1×12×h×w colour-matrix map of PieNet's affine head
    (:func:`ml.models.pienet.affine_delta`) resized to the photo's H×W the way :func:`add_enlarged` resizes ΔI.

    A block of rows at a time (12 full-size channels of a 12-megapixel photo would be over half a gigabyte; blocks
    of :data:`AFFINE_BLOCK_BYTES` stay in the cache): the block's rows of the map are filtered at the map's own
    small width, then widened, then applied channel plane by channel plane (nine multiply-adds per pixel, no 3×3
    temporaries)."""
    height, width = photo.shape[:2]
    channels, small_height, small_width = coefficients.shape[1:]
    planes = coefficients[0].permute(1, 0, 2).reshape(small_height, channels * small_width)
    weights, first, last = _row_filter(height, small_height, photo.device)
    result = torch.empty_like(photo)
    block = math.ceil(height / max(MAX_BLOCKS, math.ceil(height * width * channels * 4 / AFFINE_BLOCK_BYTES)))
    for start in range(0, height, block):
        stop = min(height, start + block)
        band = slice(first[start], last[stop - 1] + 1)
        rows = torch.mm(weights[start:stop, band], planes[band]).view(stop - start, channels, 1, small_width)
        local = F.interpolate(rows, size=(1, width), mode="bilinear", antialias=True, align_corners=False)
        local = local.view(stop - start, channels, width).transpose(0, 1)
        pixels = photo[start:stop].permute(2, 0, 1).contiguous()
        mixed = local[9:] + pixels
        for out in range(3):
            for source in range(3):
                mixed[out].addcmul_(local[3 * out + source], pixels[source])
        result[start:stop] = mixed.permute(1, 2, 0).clamp_(0.0, 1.0)
    return result


GUIDE_RADIUS = 1
GUIDE_EPS = 1e-4


def _box(planes: torch.Tensor, radius: int) -> torch.Tensor:
    return F.avg_pool2d(planes, 2 * radius + 1, stride=1, padding=radius, count_include_pad=False)


def guided_affine(small: torch.Tensor, coefficients: torch.Tensor, radius: int = GUIDE_RADIUS,
                  eps: float = GUIDE_EPS) -> torch.Tensor:
    """The affine head's N×12×h×w map re-expressed as a *local* colour-affine function of the N×3×h×w network
    input: per window of ``2·radius + 1`` pixels, the 3×4 matrix that best maps the input's colours to the
    network's result (He, Sun and Tang's guided filter with a colour guide), averaged over the windows.

    Why: PieNet trained on noisy camera-like inputs learned to smooth them, so its matrices change from pixel to
    pixel with the photo's content; enlarged to a 768-px photo they kept 15 % of its detail (Laplacian energy;
    v1 kept 97 %). Fitted on the input, the matrices follow only the look and the photo's own edges come back
    at full resolution. A result that is grey (or any per-pixel colour transform of the input) is reproduced."""
    from ml.models.pienet import affine_delta  # ml.models imports this module

    count, _, height, width = small.shape
    small = small.float()
    result = small + affine_delta(coefficients.float(), small)
    mean_in, mean_out = _box(small, radius), _box(result, radius)
    products = lambda a, b: (a[:, :, None] * b[:, None]).reshape(count, 9, height, width)  # noqa: E731
    covariance = _box(products(small, small), radius) - products(mean_in, mean_in)
    cross = _box(products(small, result), radius) - products(mean_in, mean_out)
    as_matrices = lambda planes: planes.reshape(count, 3, 3, height, width).permute(0, 3, 4, 1, 2)  # noqa: E731
    regularized = as_matrices(covariance) + eps * torch.eye(3, device=small.device)
    matrix = torch.linalg.solve(regularized, as_matrices(cross)).transpose(-1, -2)  # [out, in]
    offset = mean_out.permute(0, 2, 3, 1) - (matrix @ mean_in.permute(0, 2, 3, 1)[..., None])[..., 0]
    matrix = matrix - torch.eye(3, device=small.device)
    planes = torch.cat([matrix.flatten(-2), offset], dim=-1).permute(0, 3, 1, 2)
    return _box(planes, radius)
