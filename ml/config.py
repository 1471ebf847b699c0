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


HEADS = ("affine", "pixel")


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
    ``head``: what PieNet's last convolution predicts. ``"affine"`` (v2, our departure): a 3×4 colour matrix per
    pixel, ΔI = (A − 1)·I + b, so a colour or tone change is a smooth map that up-samples to any resolution without
    losing the photo's own detail and colour edges, plus one global matrix straight from the vector; ``"pixel"``
    (the paper, v1): ΔI itself.
    """

    embed_size: int = 256
    pienet_size: int = 512
    vector_dim: int = 512
    preference_channels: int = 64
    decoder_channels: tuple[int, int, int] = (256, 128, 64)
    head: str = "affine"

    def __post_init__(self):
        for name in ("embed_size", "pienet_size", "vector_dim", "preference_channels"):
            value = getattr(self, name)
            if not isinstance(value, int) or value < 1:
                raise ConfigError(f"{name} must be a positive integer, got {value!r}.")
        if self.embed_size < 32 or self.pienet_size < 32:
            raise ConfigError("embed_size and pienet_size must be at least 32 (ResNet-18 downsamples by 32).")
        if len(self.decoder_channels) != 3 or any(int(c) < 1 for c in self.decoder_channels):
            raise ConfigError("decoder_channels must be three positive integers.")
        if self.head not in HEADS:
            raise ConfigError(f"head must be one of {', '.join(HEADS)}, got {self.head!r}.")

    def to_dict(self) -> dict[str, Any]:
        data = dataclasses.asdict(self)
        data["decoder_channels"] = list(self.decoder_channels)
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "ModelConfig":
        """A saved configuration; one saved before ``head`` existed describes a v1 model, whose head is "pixel"."""
        if isinstance(data, dict) and "head" not in data:
            data = {**data, "head": "pixel"}
        return _from_dict(cls, data)


@dataclass
class TrainingRecipe:
    """What both stages share: optimizer, schedule, length, logging and checkpoint cadence.

    ``warmup_steps``: the learning rate rises linearly over these steps, then follows a cosine to 5 % of itself
    at ``steps`` (our choice; the paper keeps Adam's rate constant). ``num_workers`` and ``in_memory`` concern
    the label datasets of retraining; the v2 training data are always decoded in RAM (:mod:`ml.data.style_bank`).
    """

    steps: int
    batch_size: int
    learning_rate: float = 1e-4
    warmup_steps: int = 0
    seed: int = 0
    log_every: int = 10
    save_every: int = 1000
    num_workers: int = 2
    in_memory: bool = False

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    def validate(self, what: str = "recipe") -> None:
        """The one check of a stage's values, whether they came from flags, a recipe file or a retraining
        request; raises :class:`ConfigError` naming ``what``."""
        for name in ("steps", "batch_size", "log_every", "save_every"):
            if getattr(self, name) < 1:
                raise ConfigError(f"{what}.{name} must be a positive integer, got {getattr(self, name)!r}.")
        if not 0 < self.learning_rate < 1:
            raise ConfigError(f"{what}.learning_rate must be a number in (0, 1), got {self.learning_rate!r}.")
        if self.num_workers < 0 or self.warmup_steps < 0 or getattr(self, "global_path_photos", 0) < 0:
            raise ConfigError(f"{what}.num_workers, warmup_steps and global_path_photos must be non-negative "
                              "integers.")
        scale = getattr(self, "crop_scale", (0.5, 1.0))
        if len(scale) != 2 or not all(isinstance(v, (int, float)) for v in scale) or not 0 < scale[0] <= scale[1] <= 1:
            raise ConfigError(f"{what}.crop_scale must be two fractions 0 < low ≤ high ≤ 1, got {list(scale)!r}.")


@dataclass
class StyleBankRecipe:
    """Where both stages' batches come from (:mod:`ml.data.style_bank`): ``random_users`` parametric users beside
    the named ones, a named user drawn ``named_share`` of the time, a photo's real other-exposure shot (where it has
    one) used as the input ``real_input_share`` of the time, photos cached at ``cache_size`` px."""

    random_users: int = 300
    named_share: float = 0.5
    real_input_share: float = 0.5
    cache_size: int = 192
    crop_scale: tuple[float, float] = (0.6, 1.0)


@dataclass
class EmbeddingRecipe(StyleBankRecipe, TrainingRecipe):
    """Stage 1 (Sec. 4.1, reworked for v2): ``batch_size`` photos × ``users_per_batch`` users of the same photos,
    eq. 1 over every triplet whose negative shares the positive's photo (another user's retouch or the input),
    averaged over the active ones; margin 0.2; the users' vectors learn ``vector_lr_scale`` times faster than the
    network. ``proxy_weight`` × the proxy loss (each retouch classified among all users by cosine to their
    vectors over ``proxy_temperature``) joins eq. 1 so that one user's looks on different photos gather.
    Afterwards every user's embeddings of ``pool_size`` whole retouched photos are kept for stage 2 and the
    stored vectors become their renormalised means.
    """

    steps: int = 25_000
    batch_size: int = 8
    users_per_batch: int = 8
    margin: float = 0.2
    vector_lr_scale: float = 10.0
    proxy_weight: float = 1.0
    proxy_temperature: float = 0.1
    pool_size: int = 64


@dataclass
class PieNetRecipe(StyleBankRecipe, TrainingRecipe):
    """Stage 2 (Sec. 4.1): Adam 1e-4, 100,000 mini-batches of 8, λp = 0.4, λt = 0.01, vector noise ‖n‖ = 0.1.

    v2: each sample's vector is the renormalised mean of a random subset (1 … ``max_subset``, log-uniform) of
    its user's stage-1 embeddings, the way scheme 2 makes a new user's vector, plus the paper's noise. A larger
    ``min_subset`` keeps the vectors informative: one pick is as far from its user's mean (0.48) as two users'
    means are from each other (median 0.36), and PieNet learns to hedge towards the shared look on such vectors.
    The affine head's global colour path (vector → one 3×4 matrix) learns ``global_path_lr_scale`` times faster
    than the rest: at the base rate it had not moved the monochrome looks off the input's colour after 500 steps.
    A fresh run starts that path from its closed-form fit on ``global_path_photos`` crops per user
    (:mod:`ml.training.global_path`; 0 starts it at zero).
    """

    steps: int = 100_000
    batch_size: int = 8
    lambda_perceptual: float = 0.4
    lambda_tv: float = 0.01
    vector_noise: float = 0.1
    min_subset: int = 1
    max_subset: int = 64
    global_path_lr_scale: float = 10.0
    global_path_photos: int = 24
