"""Stage 2 (Sec. 3.3, 4.1): train PieNet on all users' pairs with their (fixed) preference vectors, the frozen
embedding network providing the perceptual loss."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import torch
import torch.nn.functional as F

from ml.checkpoint import CheckpointError, load_checkpoint, load_training_state, save_checkpoint, save_training_state
from ml.config import PieNetRecipe
from ml.data.datasets import PairDataset
from ml.losses import PieNetLoss
from ml.models import PieNet
from ml.training.common import autocast_context, run_steps, training_run

STAGE = "pienet"


def perturb(vectors: torch.Tensor, noise_norm: float, generator: torch.Generator) -> torch.Tensor:
    """Add noise n with ‖n‖₂ = noise_norm, uniform on the sphere (Sec. 4.1), so PieNet tolerates small vector
    changes — new users' vectors are estimates."""
    noise = F.normalize(torch.randn(vectors.shape, generator=generator), dim=1) * noise_norm
    return vectors + noise.to(vectors.device)


def train_pienet(data_dir, out_dir, recipe: PieNetRecipe, embedding_checkpoint=None, pienet_size: int | None = None,
                 init: str = "random", device: str = "auto", resume: bool = False) -> Path:
    """Train stage 2. A fresh run starts from a stage-1 checkpoint; ``resume`` continues ``out_dir``'s own."""
    out_dir = Path(out_dir)
    with training_run(out_dir, device, recipe.seed) as (context, checkpoint_path, state_path):
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
            pienet = PieNet(config, init=init)
        users = list(loaded.styles)
        if not users:
            raise CheckpointError("The checkpoint has no training users' preference vectors.")
        vectors = torch.stack(list(loaded.styles.values())).to(context.device)
        embedding_net = loaded.embedding_net.to(context.device).eval().requires_grad_(False)
        dataset = PairDataset(data_dir, "train", users=users, size=config.pienet_size, crop_scale=recipe.crop_scale,
                              in_memory=recipe.in_memory, device=context.device if recipe.in_memory else "cpu")
        pienet = pienet.to(context.device).train()
        model = context.wrap(pienet)
        optimizer = torch.optim.Adam(model.parameters(), lr=recipe.learning_rate)
        start_step = load_training_state(state_path, optimizer, STAGE) if resume else 0
        loss_function = PieNetLoss(embedding_net, recipe.lambda_perceptual, recipe.lambda_tv)

        def save(step: int) -> None:
            metadata = {"stage": STAGE, "step": step, "recipe": recipe.to_dict(), "init": init,
                        "data": str(data_dir)}
            save_checkpoint(checkpoint_path, embedding_net, pienet, config, users, vectors, metadata)
            save_training_state(state_path, optimizer, step, STAGE)

        def train_step(batch, step: int) -> dict[str, torch.Tensor]:
            images, targets, user_indices = (item.to(context.device, non_blocking=True) for item in batch)
            noise_generator = torch.Generator().manual_seed(recipe.seed * 1_000_003 + step * 101 + context.rank)
            preference = perturb(vectors[user_indices], recipe.vector_noise, noise_generator)
            with autocast_context(context.device):
                delta = model(images, preference)
                terms = loss_function(images, delta.float(), targets)
            optimizer.zero_grad(set_to_none=True)
            terms["loss"].backward()
            optimizer.step()
            return {name: value.detach() for name, value in terms.items()}

        run_steps(stage=STAGE, dataset=dataset, recipe=recipe, train_step=train_step, save=save,
                  start_step=start_step, out_dir=out_dir, context=context)
        return checkpoint_path
