"""Stage 1 (Sec. 3.1, 4.1): learn the embedding network and one preference vector per training user with the
triplet loss, jointly."""

from __future__ import annotations

from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from ml.checkpoint import load_checkpoint, load_training_state, save_checkpoint, save_training_state
from ml.config import EmbeddingRecipe, ModelConfig
from ml.data.datasets import TripletDataset
from ml.losses import triplet_loss
from ml.models import EmbeddingNet
from ml.training.common import autocast_context, run_steps, training_run

STAGE = "embedding"


class PreferenceSpace(nn.Module):
    """The embedding network and the users' preference vectors in one module, so one optimizer and one DDP
    wrapper cover both (the gradients of eqs. 2–4 reach the vectors and the network simultaneously)."""

    def __init__(self, net: EmbeddingNet, vectors: torch.Tensor):
        super().__init__()
        self.net = net
        self.vectors = nn.Parameter(vectors.clone())

    def forward(self, users: torch.Tensor, positives: torch.Tensor, negatives: torch.Tensor,
                margin: float) -> torch.Tensor:
        features = self.net(torch.cat([positives, negatives]))
        positive_features, negative_features = features.chunk(2)
        return triplet_loss(self.vectors[users], positive_features, negative_features, margin)


def initial_vectors(num_users: int, dim: int, seed: int) -> torch.Tensor:
    """Random initial preference vectors (the paper: "random values"); we draw them uniformly on the unit
    sphere, where the L2-normalized features live."""
    generator = torch.Generator().manual_seed(seed)
    return F.normalize(torch.randn(num_users, dim, generator=generator), dim=1)


def train_embedding(data_dir, out_dir, recipe: EmbeddingRecipe, config: ModelConfig | None = None,
                    init: str = "random", device: str = "auto", resume: bool = False) -> Path:
    """Train stage 1 on ``data_dir`` (FiveK layout, train split, train users); returns the checkpoint path."""
    out_dir = Path(out_dir)
    with training_run(out_dir, device, recipe.seed) as (context, checkpoint_path, state_path):
        if resume:
            loaded = load_checkpoint(checkpoint_path)
            config, net, users = loaded.config, loaded.embedding_net, list(loaded.styles)
            vectors = torch.stack(list(loaded.styles.values()))
        else:
            config = config or ModelConfig()
            net, users = EmbeddingNet(config, init=init), None
        dataset = TripletDataset(data_dir, "train", users=users, size=config.embed_size,
                                 crop_scale=recipe.crop_scale,
                                 matched_negative_fraction=recipe.matched_negative_fraction,
                                 in_memory=recipe.in_memory, device=context.device if recipe.in_memory else "cpu")
        if not resume:
            vectors = initial_vectors(len(dataset.users), config.vector_dim, recipe.seed)
        space = PreferenceSpace(net, vectors).to(context.device).train()
        model = context.wrap(space)
        optimizer = torch.optim.Adam(model.parameters(), lr=recipe.learning_rate)
        start_step = load_training_state(state_path, optimizer, STAGE) if resume else 0

        def save(step: int) -> None:
            metadata = {"stage": STAGE, "step": step, "recipe": recipe.to_dict(), "init": init,
                        "data": str(data_dir)}
            save_checkpoint(checkpoint_path, space.net, None, config, dataset.users, space.vectors, metadata)
            save_training_state(state_path, optimizer, step, STAGE)

        def train_step(batch, step: int) -> dict[str, torch.Tensor]:
            users, positives, negatives = (item.to(context.device, non_blocking=True) for item in batch)
            with autocast_context(context.device):
                losses = model(users, positives, negatives, recipe.margin)
            loss = losses.mean()
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            return {"loss": loss.detach(), "active_triplets": (losses > 0).float().mean()}

        run_steps(stage=STAGE, dataset=dataset, recipe=recipe, train_step=train_step, save=save,
                  start_step=start_step, out_dir=out_dir, context=context)
        return checkpoint_path
