"""Stage 2 (Sec. 3.3, 4.1): train PieNet on all users' pairs, the frozen embedding network providing the
perceptual loss — conditioned, in v2, on vectors made the way users make them.

The paper conditions PieNet on the learned f_k and hands it, at use time, the mean embedding of a new user's
picks. In v1 the two were unlike each other (cosine 0.17), so PieNet was used on vectors it never saw. Here every
sample's vector is the renormalised mean of a random subset (1 … ``max_subset`` images, log-uniform) of its
user's stage-1 embeddings, plus the paper's noise: the distribution of scheme-2 vectors from 1 to 64 picks, and
more picks give a better vector. Users are the named ones and the random ones of stage 1, rendered on the fly.
"""

from __future__ import annotations

import dataclasses
import math
import shutil
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn
from tqdm import tqdm

from ml.checkpoint import (CheckpointError, load_checkpoint, load_training_state, load_user_embeddings,
                           save_checkpoint, save_training_state)
from ml.config import PieNetRecipe, TrainingRecipe
from ml.data.style_bank import open_bank
from ml.losses import PieNetLoss
from ml.models import PieNet
from ml.training.common import autocast_context, run_steps, set_learning_rates, step_batches, training_run
from ml.training.embedding import FINAL_VECTORS, USER_EMBEDDINGS_NAME, pool_vectors
from ml.training.global_path import FIT_SIZE, GlobalPathFit, colour_coefficients, fit_linear_path

STAGE = "pienet"
INIT_CHOICES = ("embedding", "random", "imagenet")


def perturb(vectors: torch.Tensor, noise_norm: float, generator: torch.Generator, spread: float = 1.0) -> torch.Tensor:
    """Add noise n with ‖n‖₂ = noise_norm × spread, uniform on the sphere (Sec. 4.1), so PieNet tolerates small
    vector changes — new users' vectors are estimates. ``spread`` is PieNet's vector spread: the paper's norm
    0.1 is relative to unit vectors around 0, ours to the users' vectors around their mean."""
    noise = F.normalize(torch.randn(vectors.shape, generator=generator), dim=1) * (noise_norm * spread)
    return vectors + noise.to(vectors.device)


def noise_generator(seed: int, step: int, rank: int) -> torch.Generator:
    """The vector noise of one step on one process (distinct per rank, reproducible on resume)."""
    return torch.Generator().manual_seed(seed * 1_000_003 + step * 101 + rank)


def subset_mean_vectors(pools: torch.Tensor, users: torch.Tensor, max_subset: int,
                        generator: torch.Generator, min_subset: int = 1) -> torch.Tensor:
    """For each user index, the renormalised mean of a random subset of its pool; subset sizes are log-uniform in
    min_subset … max_subset, so vectors from a handful of picks are as common as vectors from dozens."""
    limit = min(max_subset, pools.shape[1])
    low = min(max(1, min_subset), limit)
    spread = torch.rand(len(users), generator=generator) * (math.log(limit) - math.log(low))
    sizes = torch.exp(spread + math.log(low)).round().clamp(low, limit).long()
    order = torch.rand(len(users), pools.shape[1], generator=generator).argsort(dim=1)
    mask = (order.argsort(dim=1) < sizes[:, None]).float()  # the first `size` of a random order
    chosen = pools[users]
    return F.normalize((chosen * mask[..., None]).sum(dim=1) / sizes[:, None], dim=1)


def pienet_step(model: nn.Module, optimizer: torch.optim.Optimizer, loss_function: PieNetLoss,
                recipe: TrainingRecipe, step: int, device: torch.device, images: torch.Tensor,
                targets: torch.Tensor, vectors: torch.Tensor) -> dict[str, torch.Tensor]:
    """One optimizer step of eq. 6 for the given (already perturbed) preference vectors."""
    set_learning_rates(optimizer, step, recipe)
    images, targets = images.to(device, non_blocking=True), targets.to(device, non_blocking=True)
    with autocast_context(device):
        delta = model(images, vectors.to(device))
        terms = loss_function(images, delta.float(), targets)
    optimizer.zero_grad(set_to_none=True)
    terms["loss"].backward()
    optimizer.step()
    return {name: value.detach() for name, value in terms.items()}


def pienet_optimizer(pienet: PieNet, learning_rate: float, global_path_lr_scale: float = 1.0) -> torch.optim.Adam:
    """Adam with the global colour path (:class:`PieNet`'s ``vector_to_matrix``) in its own group: its one linear
    layer has to reach a whole look's colour matrix (a monochrome mix is −2/3 on the diagonal) from vectors whose
    components are about 0.04, which the network's rate takes thousands of steps to do."""
    path = pienet.vector_to_matrix
    if path is None:
        return torch.optim.Adam(pienet.parameters(), lr=learning_rate)
    own = {id(parameter) for parameter in path.parameters()}
    rest = [parameter for parameter in pienet.parameters() if id(parameter) not in own]
    return torch.optim.Adam([{"params": rest, "lr": learning_rate},
                             {"params": list(path.parameters()), "lr": learning_rate * global_path_lr_scale}])


def start_global_path(pienet: PieNet, bank, pools: torch.Tensor, recipe: PieNetRecipe,
                      progress: bool = True) -> GlobalPathFit:
    """Set the affine head's vector-to-matrix layer to its closed-form fit (:mod:`ml.training.global_path`):
    every user's own global matrix from ``recipe.global_path_photos`` crops, regressed on vectors drawn as
    training draws them (8 subset means per user and the mean of its whole pool)."""
    users = range(len(bank.users))
    coefficients = torch.stack([colour_coefficients(*bank.user_pairs(user, recipe.global_path_photos, FIT_SIZE,
                                                                     recipe.seed))
                                for user in tqdm(users, desc="global looks", unit="user", disable=not progress)])
    generator = torch.Generator().manual_seed(recipe.seed)
    owners = torch.arange(len(users)).repeat(8)
    vectors = subset_mean_vectors(pools, owners, recipe.max_subset, generator, recipe.min_subset)
    vectors = torch.cat([vectors, pool_vectors(pools)])
    owners = torch.cat([owners, torch.arange(len(users))])
    fit = fit_linear_path(pienet.standardize(vectors), coefficients[owners], owners, seed=recipe.seed)
    with torch.no_grad():
        pienet.vector_to_matrix.weight.copy_(fit.weight)
        pienet.vector_to_matrix.bias.copy_(fit.bias)
    return fit


def new_pienet(config, init: str, embedding_net) -> PieNet:
    if init not in INIT_CHOICES:
        raise ValueError(f"Unknown init {init!r}; choose one of {', '.join(INIT_CHOICES)}.")
    pienet = PieNet(config, init="random" if init == "embedding" else init)
    if init == "embedding":
        pienet.copy_encoder_from(embedding_net)
    return pienet


def train_pienet(data_dir, out_dir, recipe: PieNetRecipe, embedding_checkpoint=None, pienet_size: int | None = None,
                 init: str = "embedding", device: str = "auto", resume: bool = False, photos=None,
                 warm_start=None) -> Path:
    """Train stage 2. A fresh run starts from a stage-1 checkpoint (with ``user_embeddings.pt`` beside it, copied
    into ``out_dir``), its PieNet from ``init`` or the weights of the ``warm_start`` checkpoint; ``resume``
    continues ``out_dir``'s own run."""
    out_dir = Path(out_dir)
    with training_run(out_dir, device, recipe.seed) as (context, checkpoint_path, state_path):
        pools_path = out_dir / USER_EMBEDDINGS_NAME
        if resume:
            loaded = load_checkpoint(checkpoint_path)
            if loaded.pienet is None:
                raise CheckpointError(f"{checkpoint_path} holds no PieNet to resume.")
            config, pienet = loaded.config, loaded.pienet
        else:
            if embedding_checkpoint is None:
                raise ValueError("A fresh PieNet run needs the stage-1 checkpoint (--embedding).")
            loaded = load_checkpoint(embedding_checkpoint)
            config = loaded.config
            if pienet_size is not None:
                config = dataclasses.replace(config, pienet_size=pienet_size)
            pienet = new_pienet(config, init, loaded.embedding_net)
            if warm_start is not None:  # continue from a trained PieNet of the same sizes, with this recipe
                pienet.load_state_dict(load_checkpoint(warm_start).pienet.state_dict())
            source_pools = Path(embedding_checkpoint).parent / USER_EMBEDDINGS_NAME
            if not source_pools.is_file():
                raise CheckpointError(f"{source_pools} is missing: stage 1 did not finish (resume it).")
            if context.is_main and source_pools.resolve() != pools_path.resolve():
                shutil.copyfile(source_pools, pools_path)
            context.barrier()
        names, pools = load_user_embeddings(pools_path)
        bank = open_bank(data_dir, "train", len(names) - len(loaded.styles), recipe.cache_size, recipe.named_share,
                         recipe.crop_scale, photos, real_input_share=recipe.real_input_share)
        if bank.user_names != names:
            raise CheckpointError("stage 1's users differ from this dataset's training users and random users.")
        named = [index for index, user in enumerate(bank.users) if user.named]
        stored = pool_vectors(pools[named])
        global_fit = None
        if not resume:  # every training user's vector, named and random, as scheme 2 makes it from all its images
            pienet.set_vector_standardization(pool_vectors(pools))
            if (pienet.vector_to_matrix is not None and warm_start is None and recipe.global_path_photos
                    and len(bank.users) > 1):
                global_fit = start_global_path(pienet, bank, pools, recipe, progress=context.is_main)
                if context.is_main:
                    print(f"global colour path fitted: {global_fit.summary()}", flush=True)
        spread = float(pienet.vector_spread)
        embedding_net = loaded.embedding_net.to(context.device).eval().requires_grad_(False)
        pienet = pienet.to(context.device).train()
        model = context.wrap(pienet)
        optimizer = pienet_optimizer(pienet, recipe.learning_rate, recipe.global_path_lr_scale)
        start_step = load_training_state(state_path, optimizer, STAGE) if resume else 0
        loss_function = PieNetLoss(embedding_net, recipe.lambda_perceptual, recipe.lambda_tv)

        def save(step: int) -> None:
            metadata = {"stage": STAGE, "step": step, "recipe": recipe.to_dict(), "init": init,
                        "data": str(data_dir), "vectors": FINAL_VECTORS,
                        "conditioning": f"renormalised subset means ({recipe.min_subset}-{recipe.max_subset}) + noise",
                        "warm_start": str(warm_start) if warm_start else None,
                        "random_users": len(names) - len(named),
                        "global_path_fit": global_fit.summary() if global_fit else None}
            save_checkpoint(checkpoint_path, embedding_net, pienet, config, [names[i] for i in named], stored,
                            metadata)
            save_training_state(state_path, optimizer, step, STAGE)

        def train_step(batch, step: int) -> dict[str, torch.Tensor]:
            images, targets, users = batch
            generator = noise_generator(recipe.seed, step, context.rank)
            vectors = subset_mean_vectors(pools, users, recipe.max_subset, generator, recipe.min_subset)
            vectors = perturb(vectors, recipe.vector_noise, generator, spread)
            return pienet_step(model, optimizer, loss_function, recipe, step, context.device, images, targets,
                               vectors)

        per_rank = recipe.batch_size // context.world_size
        batches = step_batches(lambda step: bank.pair_batch(recipe.seed, step, per_rank, config.pienet_size,
                                                            context.rank), start_step)
        run_steps(stage=STAGE, batches=batches, recipe=recipe, train_step=train_step, save=save,
                  start_step=start_step, out_dir=out_dir, context=context)
        return checkpoint_path
