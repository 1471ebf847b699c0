"""Retraining on collected labels (a label dataset, :mod:`ml.data.labels`): first the embedding network and the
users' preference vectors with the triplet loss (each participant's picks against their own non-picks, each
named style's renderings against the input and the other styles), then PieNet on the (input, picked rendering)
pairs — starting from an existing checkpoint (fine-tuning, the default) or from fresh weights of its sizes.

The checkpoint written keeps only the named styles as its users: participants' vectors are not part of a
model, the platform recomputes them from their picks in the new embedding (scheme 2, the mean), and PieNet is
trained with exactly those mean vectors so that it learns the vectors it will be given.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import torch

from ml.checkpoint import load_checkpoint, save_checkpoint
from ml.config import ConfigError, EmbeddingRecipe, ModelConfig, PieNetRecipe
from ml.data.labels import LabelDataset, LabelPairDataset, LabelSplit, LabelTripletDataset, UserLabels
from ml.inference import Enhancer
from ml.losses import PieNetLoss
from ml.models import EmbeddingNet
from ml.personalize import mean_vector
from ml.training.common import CHECKPOINT_NAME, loader_batches, run_steps, training_run
from ml.training.embedding import PreferenceSpace, initial_vectors, space_optimizer, triplet_step
from ml.training.pienet import new_pienet, noise_generator, perturb, pienet_optimizer, pienet_step

EMBEDDING_STAGE, PIENET_STAGE = "finetune-embedding", "finetune-pienet"
EMBEDDING_CHECKPOINT_NAME = "embedding.pt"

# on_step(stage, step, total_steps, loss terms): progress reports; an exception raised there stops training.
StepCallback = Callable[[str, int, int, dict[str, torch.Tensor]], None]


def _stage_recipe(cls, defaults: dict[str, Any], overrides: dict[str, Any] | None, what: str):
    known = {item.name for item in dataclasses.fields(cls)}
    overrides = dict(overrides or {})
    unknown = sorted(set(overrides) - known)
    if unknown:
        raise ConfigError(f"Unknown {what} recipe keys: {', '.join(unknown)}.")
    values = {**defaults, **overrides}
    reference = cls(**defaults)
    for name, value in overrides.items():  # the same kind of value as the default: numbers stay numbers
        expected = getattr(reference, name)
        if isinstance(expected, bool):
            valid = isinstance(value, bool)
        elif isinstance(expected, (int, float)):
            valid = isinstance(value, (int, float)) and not isinstance(value, bool)
            valid = valid and (isinstance(value, int) or isinstance(expected, float))
        else:
            valid = isinstance(value, (list, tuple))
        if not valid:
            raise ConfigError(f"{what}.{name} must be like {expected!r}, got {value!r}.")
    recipe = cls(**values)
    recipe.crop_scale = tuple(recipe.crop_scale)
    recipe.validate(what)
    return recipe


# Fine-tuning moves a trained model gently (a tenth of the paper's rate); from scratch uses the paper's rate and
# runs longer. Data loading stays in the training process (num_workers 0): the label sets are small, and task
# queue workers may not start child processes. save_every is beyond any run: only the end is saved.
_COMMON = {"num_workers": 0, "log_every": 10, "save_every": 10 ** 9}
_DEFAULTS = {
    False: {"embedding": {"steps": 300, "batch_size": 32, "learning_rate": 1e-5, **_COMMON},
            "pienet": {"steps": 1000, "batch_size": 8, "learning_rate": 1e-5, **_COMMON}},
    True: {"embedding": {"steps": 5000, "batch_size": 32, "learning_rate": 1e-4, **_COMMON},
           "pienet": {"steps": 10000, "batch_size": 8, "learning_rate": 1e-4, **_COMMON}},
}


@dataclass
class FinetuneRecipe:
    """Both stages of a retraining run.

    ``from_scratch``: fresh networks (``init``) with the base model's sizes instead of the base's weights.
    ``heldout_fraction``: share of every participant's labels kept out of training for evaluation.
    ``style_examples``: ground-truth renderings per named style that the label-dataset builder adds, so the
    model's named styles are rehearsed while it learns the participants (0: participants only).
    """

    embedding: EmbeddingRecipe = field(default_factory=lambda: EmbeddingRecipe(**_DEFAULTS[False]["embedding"]))
    pienet: PieNetRecipe = field(default_factory=lambda: PieNetRecipe(**_DEFAULTS[False]["pienet"]))
    from_scratch: bool = False
    init: str = "random"
    heldout_fraction: float = 0.2
    style_examples: int = 16
    seed: int = 0

    @classmethod
    def from_dict(cls, data: dict[str, Any] | None) -> "FinetuneRecipe":
        """The defaults of the chosen mode overridden by ``data`` (nested ``embedding``/``pienet`` tables);
        unknown keys and impossible values raise :class:`ConfigError`."""
        data = dict(data or {})
        if not isinstance(data.get("from_scratch", False), bool):
            raise ConfigError("from_scratch must be true or false.")
        known = {item.name for item in dataclasses.fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ConfigError(f"Unknown retraining recipe keys: {', '.join(unknown)}.")
        for name in ("embedding", "pienet"):
            if not isinstance(data.get(name, {}), dict):
                raise ConfigError(f"{name} must be a table of settings.")
        defaults = _DEFAULTS[data.get("from_scratch", False)]
        seed = data.get("seed", 0)
        recipe = cls(
            embedding=_stage_recipe(EmbeddingRecipe, {**defaults["embedding"], "seed": seed},
                                    data.pop("embedding", None), "embedding"),
            pienet=_stage_recipe(PieNetRecipe, {**defaults["pienet"], "seed": seed}, data.pop("pienet", None),
                                 "pienet"),
            **data,
        )
        recipe.validate()
        return recipe

    def validate(self) -> None:
        if self.init not in ("random", "imagenet"):
            raise ConfigError(f"init must be 'random' or 'imagenet', got {self.init!r}.")
        if not isinstance(self.heldout_fraction, (int, float)) or not 0 <= self.heldout_fraction < 1:
            raise ConfigError(f"heldout_fraction must be in [0, 1), got {self.heldout_fraction!r}.")
        if not isinstance(self.style_examples, int) or self.style_examples < 0:
            raise ConfigError(f"style_examples must be a non-negative integer, got {self.style_examples!r}.")
        if not isinstance(self.seed, int):
            raise ConfigError(f"seed must be an integer, got {self.seed!r}.")

    def to_dict(self) -> dict[str, Any]:
        data = dataclasses.asdict(self)
        for name in ("embedding", "pienet"):
            data[name]["crop_scale"] = list(data[name]["crop_scale"])
        return data


@dataclass
class FinetuneResult:
    checkpoint: Path
    split: LabelSplit
    styles: list[str]
    participant_vectors: dict[str, torch.Tensor]


def embed_keys(net: EmbeddingNet, config: ModelConfig, labels: LabelDataset, keys, device) -> torch.Tensor:
    """Embeddings of label images, the way the platform embeds candidates (whole image squashed, normalized)."""
    embedder = Enhancer(net, None, config, {}, device=device, precision="fp32")
    features = embedder.embed([labels.image_path(key) for key in keys])
    return torch.from_numpy(features.cpu().numpy().copy())


def mean_vectors(net, config, labels: LabelDataset, users: list[UserLabels], device) -> dict:
    """Scheme 2 for every user with positives (participants and named styles alike): the renormalised mean of
    their positives' embeddings — the vectors the platform will hand PieNet."""
    return {user.name: mean_vector(embed_keys(net, config, labels, user.positives, device))
            for user in users if user.positives}


def _training_users(split: LabelSplit, base_styles: dict, from_scratch: bool) -> list[UserLabels]:
    """Named styles first (when fine-tuning, those without renderings keep their vectors untouched), then the
    participants."""
    style_users = [user for user in split.train if user.kind == "style"]
    known = {user.name for user in style_users}
    kept = [UserLabels(name, "style") for name in base_styles if name not in known] if not from_scratch else []
    return style_users + kept + [user for user in split.train if user.kind == "participant"]


def _starting_vectors(net, config, labels, users, base_styles, recipe: FinetuneRecipe, device) -> torch.Tensor:
    """From scratch: random vectors. Fine-tuning: the base's vector for its styles, and for anyone new the
    mean of their positives in the base embedding (where they are now)."""
    if recipe.from_scratch:
        return initial_vectors(len(users), config.vector_dim, recipe.seed)
    return torch.stack([base_styles[user.name].float() if user.name in base_styles
                        else mean_vector(embed_keys(net, config, labels, user.positives, device)) for user in users])


def _train_space(space: PreferenceSpace, labels, users, config, recipe: FinetuneRecipe, out_dir: Path, context,
                 on_step: StepCallback | None) -> None:
    """Stage 1 on the label triplets (each participant's picks against their own non-picks, each style's
    renderings against the input and the other styles); saves ``embedding.pt``."""
    stage = recipe.embedding
    triplets = LabelTripletDataset(labels, users, size=config.embed_size, crop_scale=stage.crop_scale,
                                   in_memory=stage.in_memory, device=context.device if stage.in_memory else "cpu")
    optimizer = space_optimizer(space, space, stage.learning_rate, stage.vector_lr_scale)
    names = [user.name for user in users]

    def train_step(batch, step: int) -> dict[str, torch.Tensor]:
        user_indices, positives, negatives = batch
        count = len(user_indices)
        rows = torch.arange(count)
        return triplet_step(space, optimizer, stage, step, context.device, torch.cat([positives, negatives]),
                            user_indices, rows, rows + count, stage.margin)

    def save(step: int) -> None:
        save_checkpoint(out_dir / EMBEDDING_CHECKPOINT_NAME, space.net, None, config, names, space.vectors,
                        {"stage": EMBEDDING_STAGE, "step": step, "recipe": recipe.to_dict()})

    run_steps(stage=EMBEDDING_STAGE, batches=loader_batches(triplets, stage, 0, context), recipe=stage,
              train_step=train_step, save=save, start_step=0, out_dir=out_dir, context=context,
              on_step=_reporter(on_step, EMBEDDING_STAGE, stage.steps))


def _train_pienet(pienet, embedding_net, labels, users, stage_vectors, config, recipe: FinetuneRecipe,
                  save, out_dir: Path, context, on_step: StepCallback | None) -> None:
    """Stage 2 on the (input, picked rendering) pairs, each with its user's vector plus the paper's noise."""
    stage = recipe.pienet
    pairs = LabelPairDataset(labels, users, size=config.pienet_size, crop_scale=stage.crop_scale,
                             in_memory=stage.in_memory, device=context.device if stage.in_memory else "cpu")
    optimizer = pienet_optimizer(pienet, stage.learning_rate, stage.global_path_lr_scale)
    loss_function = PieNetLoss(embedding_net, stage.lambda_perceptual, stage.lambda_tv)
    spread = float(pienet.vector_spread)

    def train_step(batch, step: int) -> dict[str, torch.Tensor]:
        images, targets, user_indices = batch
        vectors = perturb(stage_vectors[user_indices.to(stage_vectors.device)], stage.vector_noise,
                          noise_generator(stage.seed, step, context.rank), spread)
        return pienet_step(pienet, optimizer, loss_function, stage, step, context.device, images, targets, vectors)

    run_steps(stage=PIENET_STAGE, batches=loader_batches(pairs, stage, 0, context), recipe=stage,
              train_step=train_step, save=save, start_step=0, out_dir=out_dir, context=context,
              on_step=_reporter(on_step, PIENET_STAGE, stage.steps))


def finetune(labels_dir, out_dir, recipe: FinetuneRecipe, base_checkpoint=None, config: ModelConfig | None = None,
             device: str = "auto", on_step: StepCallback | None = None) -> FinetuneResult:
    """Run both stages into ``out_dir`` (``embedding.pt`` after stage 1, ``checkpoint.pt`` at the end).

    ``base_checkpoint`` is the model to fine-tune, and gives the sizes and named styles when training from
    scratch (``config`` is used only without one)."""
    labels = LabelDataset.open(labels_dir)
    split = labels.split(recipe.heldout_fraction, recipe.seed)
    base = load_checkpoint(base_checkpoint) if base_checkpoint is not None else None
    if base is None and not recipe.from_scratch:
        raise ValueError("Fine-tuning needs a base checkpoint; train from scratch without one.")
    if base is not None and base.pienet is None and not recipe.from_scratch:
        raise ValueError("The base checkpoint holds no PieNet to fine-tune.")
    config = base.config if base is not None else (config or ModelConfig())
    base_styles = dict(base.styles) if base is not None else {}
    users = _training_users(split, base_styles, recipe.from_scratch)
    out_dir = Path(out_dir)

    with training_run(out_dir, device, recipe.seed) as (context, checkpoint_path, _):
        net = EmbeddingNet(config, init=recipe.init) if recipe.from_scratch else base.embedding_net
        vectors = _starting_vectors(net, config, labels, users, base_styles, recipe, context.device)
        space = PreferenceSpace(net, vectors).to(context.device).train()
        _train_space(space, labels, users, config, recipe, out_dir, context, on_step)

        # Stage 2: PieNet, with the new embedding frozen (perceptual loss) and the vectors it will be given.
        embedding_net = space.net.eval().requires_grad_(False)
        means = mean_vectors(embedding_net, config, labels, users, context.device)
        learned = space.vectors.detach()
        stage_vectors = torch.stack([means[user.name].to(context.device) if user.name in means else learned[index]
                                     for index, user in enumerate(users)])
        participant_vectors = {user.name: means[user.name] for user in users
                               if user.kind == "participant" and user.name in means}
        if recipe.from_scratch or base.pienet is None:
            pienet = new_pienet(config, "embedding" if recipe.init == "random" else recipe.init, embedding_net)
            pienet.set_vector_standardization(stage_vectors)
        else:
            pienet = base.pienet  # keeps the standardization its weights were trained with
        pienet = pienet.to(context.device).train()
        styles = [user.name for user in users if user.kind == "style"]
        style_rows = [index for index, user in enumerate(users) if user.kind == "style"]

        def save_model(step: int) -> None:
            metadata = {"stage": PIENET_STAGE, "step": step, "recipe": recipe.to_dict(), "labels": labels.details,
                        "split": split.counts(), "from_scratch": recipe.from_scratch}
            save_checkpoint(checkpoint_path, embedding_net, pienet, config, styles,
                            stage_vectors[style_rows] if style_rows else torch.zeros(0, config.vector_dim), metadata)

        _train_pienet(pienet, embedding_net, labels, users, stage_vectors, config, recipe, save_model, out_dir,
                      context, on_step)
    return FinetuneResult(checkpoint=out_dir / CHECKPOINT_NAME, split=split, styles=styles,
                          participant_vectors={name: vector.cpu() for name, vector in participant_vectors.items()})


def _reporter(on_step: StepCallback | None, stage: str, total: int):
    if on_step is None:
        return None
    return lambda step, terms: on_step(stage, step, total, terms)
