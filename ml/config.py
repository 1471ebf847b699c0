"""Model configuration (travels inside every checkpoint) and the training recipes of both stages.

Defaults follow Section 4.1 of the paper; values the paper does not give are marked as our choice.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any


class ConfigError(ValueError):
    """A configuration with unknown keys or impossible values."""


def _from_dict(cls, data: dict[str, Any]):
    if not isinstance(data, dict):
        raise ConfigError(f"{cls.__name__} must be built from a dict, got {type(data).__name__}.")
    known = {field.name for field in dataclasses.fields(cls)}
    unknown = sorted(set(data) - known)
    if unknown:
        raise ConfigError(f"Unknown {cls.__name__} keys: {', '.join(unknown)}.")
    values = dict(data)
    for field in dataclasses.fields(cls):
        if field.name in values and isinstance(values[field.name], list):
            values[field.name] = tuple(values[field.name])
    return cls(**values)


@dataclass(frozen=True)
class ModelConfig:
    """Sizes of the two networks.

    ``embed_size``: side of the square RGB input of the embedding network (paper: 256).
    ``pienet_size``: side of PieNet's training crops and the long side of its inference input (paper: 512).
    ``vector_dim``: dimension of features and preference vectors (paper: 512, ResNet-18's pooled width; other
    values add a linear projection after the pool — our extension, used only to keep tests small).
    ``preference_channels``: channels the preference vector is projected to inside each personalized
    up-sample block; the paper does not say, we chose 64.
    ``decoder_channels``: output widths of the three PUBs, matching the encoder widths they join.
    """

    embed_size: int = 256
    pienet_size: int = 512
    vector_dim: int = 512
    preference_channels: int = 64
    decoder_channels: tuple[int, int, int] = (256, 128, 64)

    def __post_init__(self):
        for name in ("embed_size", "pienet_size", "vector_dim", "preference_channels"):
            value = getattr(self, name)
            if not isinstance(value, int) or value < 1:
                raise ConfigError(f"{name} must be a positive integer, got {value!r}.")
        if self.embed_size < 32 or self.pienet_size < 32:
            raise ConfigError("embed_size and pienet_size must be at least 32 (ResNet-18 downsamples by 32).")
        if len(self.decoder_channels) != 3 or any(int(c) < 1 for c in self.decoder_channels):
            raise ConfigError("decoder_channels must be three positive integers.")

    def to_dict(self) -> dict[str, Any]:
        data = dataclasses.asdict(self)
        data["decoder_channels"] = list(self.decoder_channels)
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "ModelConfig":
        return _from_dict(cls, data)


@dataclass
class TrainingRecipe:
    """What both stages share: optimizer, length, logging and checkpoint cadence."""

    steps: int
    batch_size: int
    learning_rate: float = 1e-4
    seed: int = 0
    log_every: int = 10
    save_every: int = 1000
    num_workers: int = 2
    in_memory: bool = False

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


@dataclass
class EmbeddingRecipe(TrainingRecipe):
    """Stage 1 (Sec. 4.1): Adam 1e-4, 25,000 mini-batches of 64 triplets, margin 0.2, 90° rotations.

    ``matched_negative_fraction``: share of negatives taken from the same photo as the positive (its input or
    another user's retouch of it). The paper samples negatives from the whole negative set; content-matched
    negatives force the embedding to encode style rather than content, so we mix both (our choice).
    ``crop_scale``: random square crops cover this fraction range of the short side before resizing.
    """

    steps: int = 25_000
    batch_size: int = 64
    margin: float = 0.2
    matched_negative_fraction: float = 0.5
    crop_scale: tuple[float, float] = (0.6, 1.0)


@dataclass
class PieNetRecipe(TrainingRecipe):
    """Stage 2 (Sec. 4.1): Adam 1e-4, 100,000 mini-batches of 8, λp = 0.4, λt = 0.01, vector noise ‖n‖ = 0.1."""

    steps: int = 100_000
    batch_size: int = 8
    lambda_perceptual: float = 0.4
    lambda_tv: float = 0.01
    vector_noise: float = 0.1
    crop_scale: tuple[float, float] = (0.6, 1.0)
