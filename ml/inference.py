"""Enhancement at any resolution for a constant network cost (Sec. 3.2 predicts a delta image, which is smooth,
so it can be computed on a small copy and up-sampled): resize the photo so its long side is the network size,
run PieNet there, up-sample its output to the original resolution and apply it to the full-resolution input —
ΔI added, or (the affine head) the colour-matrix map applied to every pixel (:mod:`ml.resampling` does both
resizes fast on the photo's H×W×3 layout).

When the photo already has the network size both resizes are identities, so the result equals running PieNet
directly.
"""

from __future__ import annotations

import contextlib
import os
from collections import defaultdict
from typing import Sequence, Union

import numpy as np
import torch

from ml.checkpoint import load_checkpoint
from ml.config import ModelConfig
from ml.images import ImageError, load_image
from ml.models import EmbeddingNet, PieNet
from ml.resampling import add_enlarged, apply_enlarged_affine, guided_affine, shrink

PRECISIONS = ("auto", "fp32", "bf16", "fp16")
VectorLike = Union[str, torch.Tensor, np.ndarray, Sequence[float]]


class UnknownStyleError(KeyError, ValueError):
    """A style name that the checkpoint does not contain."""

    def __str__(self) -> str:
        return str(self.args[0])


def resolve_device(device: str | torch.device = "auto") -> torch.device:
    if str(device) == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    device = torch.device(device)
    if device.type == "cuda" and not torch.cuda.is_available():
        raise ValueError("CUDA was requested but no GPU is available.")
    return device


def _resolve_precision(precision: str, device: torch.device) -> torch.dtype | None:
    """``auto``: fp16 autocast on CUDA; bf16 on CPUs with AMX/AVX-512-BF16 units (measured 3–4× faster than
    fp32, and ΔI only needs about three significant digits); fp32 elsewhere. None means no autocast."""
    if precision not in PRECISIONS:
        raise ValueError(f"precision must be one of {', '.join(PRECISIONS)}, got {precision!r}.")
    if precision == "auto":
        if device.type == "cuda":
            return torch.float16
        fast_bf16 = torch.cpu._is_amx_tile_supported() or torch.cpu._is_avx512_bf16_supported()
        return torch.bfloat16 if fast_bf16 else None
    return {"fp32": None, "bf16": torch.bfloat16, "fp16": torch.float16}[precision]


def as_rgb_float(image) -> np.ndarray:
    """Bring any supported input to float32 H×W×3 in [0, 1]: file paths/bytes go through
    :func:`ml.images.load_image` (EXIF, modes, bit depths); arrays may be grey (H×W or H×W×1), RGB or RGBA
    (composited on white), uint8, uint16 or float. Float32 RGB arrays are used as they are, without a copy."""
    if isinstance(image, (str, os.PathLike, bytes, bytearray)) or hasattr(image, "read"):
        return load_image(image)
    if not isinstance(image, np.ndarray):
        raise ImageError(f"Expected an image array or file, got {type(image).__name__}.")
    if image.ndim == 2:
        image = image[..., None]
    if image.ndim != 3 or image.shape[2] not in (1, 3, 4) or image.shape[0] == 0 or image.shape[1] == 0:
        raise ImageError(f"Expected an H x W x 3 image, got an array of shape {image.shape}.")
    if np.issubdtype(image.dtype, np.integer):
        image = image.astype(np.float32) / np.float32(np.iinfo(image.dtype).max)
    elif np.issubdtype(image.dtype, np.floating):
        image = image.astype(np.float32, copy=False)
    else:
        raise ImageError(f"Unsupported image dtype {image.dtype}.")
    if image.shape[2] == 4:
        alpha = image[..., 3:]
        image = image[..., :3] * alpha + (1.0 - alpha)
    elif image.shape[2] == 1:
        image = np.repeat(image, 3, axis=2)
    return np.ascontiguousarray(image)


class Enhancer:
    """A loaded model ready to enhance photos (load once, call many times; CPU or CUDA).

    ``network_size``: long side of the copy PieNet sees (default: the training size ``config.pienet_size``);
    smaller is faster at some cost in fidelity of the delta.
    """

    def __init__(self, embedding_net: EmbeddingNet, pienet: PieNet | None, config: ModelConfig,
                 styles: dict[str, torch.Tensor], device="auto", network_size: int | None = None,
                 precision: str = "auto", max_batch: int = 8):
        self.device = resolve_device(device)
        self.config = config
        self.network_size = int(network_size or config.pienet_size)
        if self.network_size < 32:
            raise ValueError("network_size must be at least 32.")
        self.autocast_dtype = _resolve_precision(precision, self.device)
        self.max_batch = max_batch
        self.embedding_net = embedding_net.to(self.device).eval().to(memory_format=torch.channels_last)
        self.pienet = pienet.to(self.device).eval().to(memory_format=torch.channels_last) if pienet else None
        self.styles = {name: vector.float().to(self.device) for name, vector in styles.items()}

    @classmethod
    def from_checkpoint(cls, path, device="auto", network_size: int | None = None,
                        precision: str = "auto") -> "Enhancer":
        loaded = load_checkpoint(path, map_location="cpu")
        return cls(loaded.embedding_net, loaded.pienet, loaded.config, loaded.styles, device=device,
                   network_size=network_size, precision=precision)

    def _autocast(self):
        if self.autocast_dtype is None:
            return contextlib.nullcontext()
        return torch.autocast(self.device.type, dtype=self.autocast_dtype)

    def style_vector(self, name: str) -> torch.Tensor:
        try:
            return self.styles[name]
        except KeyError:
            available = ", ".join(sorted(self.styles)) or "none"
            raise UnknownStyleError(f"Unknown style {name!r}; available: {available}.") from None

    def _vector(self, vector: VectorLike) -> torch.Tensor:
        if isinstance(vector, str):
            return self.style_vector(vector)
        tensor = torch.as_tensor(np.asarray(vector) if not isinstance(vector, torch.Tensor) else vector)
        tensor = tensor.detach().float().reshape(-1)
        if tensor.numel() != self.config.vector_dim or not torch.isfinite(tensor).all():
            raise ValueError(f"A preference vector must have {self.config.vector_dim} finite values, "
                             f"got {tensor.numel()}.")
        return tensor.to(self.device)

    def _network_shape(self, height: int, width: int) -> tuple[int, int]:
        scale = self.network_size / max(height, width)
        return max(1, round(height * scale)), max(1, round(width * scale))

    def _check_strength(self, strength: float) -> float:
        strength = float(strength)
        if not np.isfinite(strength) or strength < 0:
            raise ValueError(f"strength must be a finite number ≥ 0, got {strength}.")
        return strength

    def enhance(self, image, vector: VectorLike, strength: float = 1.0) -> np.ndarray:
        """Enhance one photo (array or file) in the style ``vector`` (a vector or a style name); float32 H×W×3."""
        return self.enhance_batch([image], [vector], strength)[0]

    def enhance_batch(self, images: Sequence, vectors, strength: float = 1.0) -> list[np.ndarray]:
        """Enhance several photos; ``vectors`` is one vector/style for all or one per image. Photos whose
        network-size copies share a shape run through PieNet together."""
        strength = self._check_strength(strength)
        if self.pienet is None:
            raise ValueError("This checkpoint holds only the embedding network (stage 1); it cannot enhance.")
        images = [as_rgb_float(image) for image in images]
        if isinstance(vectors, str) or (isinstance(vectors, (torch.Tensor, np.ndarray)) and vectors.ndim == 1):
            vectors = [vectors] * len(images)
        vectors = [self._vector(vector) for vector in vectors]
        if len(vectors) != len(images):
            raise ValueError(f"Got {len(images)} images but {len(vectors)} vectors.")
        if strength == 0.0:
            return [image.copy() for image in images]
        groups: dict[tuple[int, int], list[int]] = defaultdict(list)
        for index, image in enumerate(images):
            groups[self._network_shape(*image.shape[:2])].append(index)
        results: list[np.ndarray | None] = [None] * len(images)
        for shape, indices in groups.items():
            for start in range(0, len(indices), self.max_batch):
                chunk = indices[start:start + self.max_batch]
                outputs = self._enhance_same_shape([images[i] for i in chunk],
                                                   torch.stack([vectors[i] for i in chunk]), shape, strength)
                for index, output in zip(chunk, outputs):
                    results[index] = output
        return results

    @torch.inference_mode()
    def _enhance_same_shape(self, images: list[np.ndarray], vectors: torch.Tensor, shape: tuple[int, int],
                            strength: float) -> list[np.ndarray]:
        photos = [torch.from_numpy(image).to(self.device) for image in images]
        small = torch.cat([shrink(photo, *shape) for photo in photos])
        with self._autocast():
            output = self.pienet.head_output(small.contiguous(memory_format=torch.channels_last), vectors)
        outputs = list(output.float().split(1))
        if self.pienet.head == "affine":  # the maps of photos that are enlarged are refitted on the input first
            outputs = [guided_affine(small[i:i + 1], map_) if tuple(photo.shape[:2]) != tuple(shape) else map_
                       for i, (photo, map_) in enumerate(zip(photos, outputs))]
        apply = apply_enlarged_affine if self.pienet.head == "affine" else add_enlarged
        # ΔI is linear in either head's output, so strength scales the map
        return [apply(photo, map_ * strength).cpu().numpy() for photo, map_ in zip(photos, outputs)]

    @torch.inference_mode()
    def embed(self, images: Sequence, batch_size: int = 32) -> torch.Tensor:
        """L2-normalized embeddings (N, D) of photos (arrays or files), each squashed to embed_size² with the
        same antialiased filter as :func:`ml.models.embedding.prepare_embedding_input` used in training."""
        size = self.config.embed_size
        prepared = [shrink(torch.from_numpy(as_rgb_float(image)).to(self.device), size, size) for image in images]
        if not prepared:
            raise ValueError("embed needs at least one image.")
        features = []
        for start in range(0, len(prepared), batch_size):
            batch = torch.cat(prepared[start:start + batch_size]).contiguous(memory_format=torch.channels_last)
            with self._autocast():
                features.append(self.embedding_net(batch).float())
        return torch.nn.functional.normalize(torch.cat(features), dim=1)
